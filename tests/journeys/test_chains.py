"""The funnel kernel's two forms (C, ``_kernel.c``, and NumPy, ``_chains.py``) give the same chains.

The NumPy form is the reference the hand-checked funnel cases and the ClickHouse oracle were first
verified on; the C form replaced it on the hot path. Random journeys with many same-time ties,
repeated steps and short windows exercise every branch: one start or many, the forward scan and the
merge-and-drop rule of entry="any", strict and allowed ties.
"""

from __future__ import annotations

import numpy as np
import pytest

from journeymine.journeys import _chains


def test_the_compiled_kernel_was_built():
    """setup.py builds it; if this fails the install fell back to NumPy (a missing C compiler?)."""
    assert _chains.COMPILED


def _journeys(rng: np.random.Generator, actors: int, steps: int):
    lengths = rng.integers(1, 40, actors)
    lengths[rng.random(actors) < 0.05] = rng.integers(60, 300)  # a few long journeys
    actor = np.repeat(rng.permutation(10 * actors)[:actors].astype(np.int64) if rng.random() < 0.5
                      else np.arange(actors, dtype=np.int64), lengths)
    actor.sort()
    n = actor.size
    gaps = rng.choice([0, 0, 1, 2, 5, 30], n)  # many same-time ties
    time = np.cumsum(gaps).astype(np.int64) * 1_000_000
    masks = [rng.random(n) < p for p in rng.uniform(0.1, 0.6, steps)]
    return actor, time, masks


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("entry", ["first", "any"])
@pytest.mark.parametrize("ties", ["strict", "allow"])
def test_compiled_and_numpy_kernels_agree(seed, entry, ties):
    rng = np.random.default_rng(seed)
    steps = int(rng.integers(1, 6))
    actor, time, masks = _journeys(rng, 400, steps)
    window = int(rng.choice([0, 3, 20, 10**6])) * 1_000_000
    c = _chains.match_ordered(actor, time, masks, window, entry=entry, ties=ties, compiled=True)
    p = _chains.match_ordered(actor, time, masks, window, entry=entry, ties=ties, compiled=False)
    for name in ("start", "depth", "rows", "times"):
        assert np.array_equal(getattr(c, name), getattr(p, name)), name
    assert c.actors == p.actors == np.unique(actor).size
    assert c.depth.size == np.unique(actor[masks[0]]).size  # every actor with a step-1 row enters
    if steps > 1 and window > 0:
        assert c.depth.max() >= 2


def test_the_latest_start_wins_among_equally_deep_chains():
    """a@0 b@1 a@2 b@3 (window 10 s): both starts reach b; entry="any" reports the later one."""
    actor = np.zeros(4, np.int64)
    time = np.array([0, 1, 2, 3], np.int64) * 1_000_000
    masks = [np.array([1, 0, 1, 0], bool), np.array([0, 1, 0, 1], bool)]
    for compiled in (True, False):
        m = _chains.match_ordered(actor, time, masks, 10_000_000, entry="any", compiled=compiled)
        assert m.start.tolist() == [2] and m.rows[:, 0].tolist() == [2, 3] and m.depth.tolist() == [2]
        m = _chains.match_ordered(actor, time, masks, 10_000_000, entry="first", compiled=compiled)
        assert m.start.tolist() == [0] and m.rows[:, 0].tolist() == [0, 1]


def test_an_earlier_start_that_joins_a_later_chain_is_dropped_but_a_deeper_one_is_kept():
    """a@0 b@1 a@5 b@6 c@7. Window 3 s: the start at 5 reaches c (depth 3); the start at 0 finds b@1,
    but c@7 is out of its window (depth 2): the later, deeper chain wins. Window 10 s: both reach c;
    the later start wins the tie."""
    actor = np.zeros(5, np.int64)
    time = np.array([0, 1, 5, 6, 7], np.int64) * 1_000_000
    masks = [np.array([1, 0, 1, 0, 0], bool), np.array([0, 1, 0, 1, 0], bool), np.array([0, 0, 0, 0, 1], bool)]
    for window in (3, 10):
        for compiled in (True, False):
            m = _chains.match_ordered(actor, time, masks, window * 1_000_000, entry="any", compiled=compiled)
            assert m.start.tolist() == [2] and m.depth.tolist() == [3] and m.rows[:, 0].tolist() == [2, 3, 4]


@pytest.mark.parametrize("seed", range(4))
def test_count_distinct_forms_agree(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(-50, 10**6, 5000) if seed else np.zeros(0, np.int64)
    expected = np.unique(values).size
    assert _chains.count_distinct(values, compiled=True) == _chains.count_distinct(values, compiled=False) == expected
