"""jm.funnel against two independent oracles: ClickHouse's ``windowFunnel(W, 'strict_increase')`` (run
in-process by chDB) and plain-Python references written here from the documented semantics.

Our semantics (``journeymine.journeys._funnel``): per actor, events by time (ties by load order);
entry="any" lets every step-1 event start a chain, step k is the *earliest* step-k event strictly
later than step k-1's event with ``time - t1 <= window``; the actor counts with its deepest chain;
entry="first" starts only at the actor's first step-1 event; ``count[k]`` = actors with depth >= k.

How ClickHouse's windowFunnel(W, 'strict_increase') differs (found with the hand cases below and read
off its algorithm; ``clickhouse_model`` re-implements that algorithm and is checked against chDB on
every random actor):

ClickHouse turns each event into one (time, level) pair per condition it meets, sorts the pairs by
(time, level) and walks them once, keeping for every level only ONE (start time, last time) pair,
overwritten by each later match: a step-1 event sets level 1 to (t, t); a step-k event at t extends
level k-1's pair if ``t <= start + W`` and (strict_increase) ``last < t``. It therefore is a greedy
that remembers only the most recent chain per level. Without timestamp ties that greedy is exact
(a later start never has less room in the window, and the walk is in time order), so the depths agree.
With ties between an event that meets condition j and one that meets condition j+1 it can lose depth
that our semantics finds (ClickHouse is never deeper than us, only shallower):

1. A repeated step-1 (generally step-(k-1)) event at the same second as the step-k event overwrites
   the earlier chain before the step-k pair is looked at (same time, lower level sorts first), and
   then ``last < t`` fails: ``a@0, a@1, b@1`` with steps (a, b) is level 1 in ClickHouse, depth 2
   for us (a@0 -> b@1). Likewise ``a@0, b@1, a@1`` with steps (a, b, a) is 1 in ClickHouse, 2 for us.
2. A repeated step-(k-1) event overwrites the remembered step time with a *later* one, so a step-k
   event tying with the repeat no longer chains: ``a@0, b@3, b@4, c@4`` with steps (a, b, c) is 2 in
   ClickHouse, 3 for us (we take the earliest b, b@3, then c@4 > 3).
3. Consecutive identical steps never chain in ClickHouse: with steps (a, a), every a event sets level
   1 to its own time before its level-2 pair is checked, so ``a@0, a@1`` is level 1 there and depth 2
   for us (a@0 -> a@1). (Without strict_increase ClickHouse would let one event be both steps.)

So the tests assert: with no ties (microsecond-distinct times) jm's entry="any" counts equal
ClickHouse's on every actor, step lists with a repeated non-adjacent step (a, b, a) included; with
whole-second times (ties, repeats) they are equal on the actors that have no tie between events of
adjacent conditions, ClickHouse is never deeper than us, and our own Python reference matches jm on
everything. entry="first" has no ClickHouse counterpart and is checked against the Python reference.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import chdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import journeymine as jm

TYPES = ("a", "b", "c", "d", "e")
SEEDS = (1, 2, 3, 4)
STEP_LISTS = (("a", "b", "c"), ("a", "b", "a"), ("b", "c", "d", "e"))
WINDOWS = (60, 900)  # seconds
T0 = dt.datetime(2024, 3, 1)  # naive: read as UTC

Events = list[tuple[int, str]]  # one actor's (time, type) in time order, ties in load order


# --- data ---------------------------------------------------------------------------------------------

def random_rows(seed: int, actors: int = 300) -> pd.DataFrame:
    """~20 events per actor (geometric: many short journeys, some long ones) in one to three bursts over
    a few hours, whole seconds (so ties and repeated steps are common), rows shuffled so the store has to
    order them itself."""
    rng = np.random.default_rng(seed)
    gaps = np.array([0, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300])
    users, times, types = [], [], []
    for a in range(actors):
        n = int(rng.geometric(1 / 20))
        bursts = rng.integers(1, 4)
        starts = np.sort(rng.integers(0, 4 * 3600, bursts))
        which = np.sort(rng.integers(0, bursts, n))
        offset = np.concatenate([[0], np.cumsum(rng.choice(gaps, n - 1))])
        # restart the offsets at each burst
        first_of_burst = np.r_[True, which[1:] != which[:-1]]
        base = np.maximum.accumulate(np.where(first_of_burst, offset, 0))
        t = starts[which] + offset - base
        users += [f"c{a:04d}"] * n
        times += t.tolist()
        types += rng.choice(TYPES, n, p=[0.25, 0.25, 0.2, 0.15, 0.15]).tolist()
    frame = pd.DataFrame({"customer": users, "seconds": np.array(times, dtype=np.int64), "activity": types})
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def jittered(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The same rows with distinct microsecond times (no ties at all): time in µs in column ``micros``."""
    rng = np.random.default_rng(seed + 1000)
    jitter = rng.permutation(len(frame)) % 1_000_000  # distinct sub-second offsets (< 1e6 rows)
    assert len(frame) < 1_000_000
    return frame.assign(micros=frame["seconds"] * 1_000_000 + jitter)


def actor_events(frame: pd.DataFrame, col: str) -> dict[str, Events]:
    """Each actor's events sorted by time, ties in frame (load) order."""
    out: dict[str, Events] = {}
    for user, t, e in zip(frame["customer"], frame[col], frame["activity"]):
        out.setdefault(user, []).append((int(t), e))
    return {u: sorted(evs, key=lambda x: x[0]) for u, evs in out.items()}  # sorted() is stable


# --- the Python references ----------------------------------------------------------------------------

def chain_depth(events: Events, start: int, steps, window: int) -> int:
    """Depth of the chain started by ``events[start]`` (a step-1 event): each next step is the earliest
    event of that step strictly later than the previous one and within ``window`` of the start."""
    t1 = prev = events[start][0]
    depth, j = 1, start + 1
    for step in steps[1:]:
        while j < len(events) and not (events[j][0] > prev and events[j][1] == step):
            j += 1
        if j == len(events) or events[j][0] - t1 > window:
            break
        prev, depth, j = events[j][0], depth + 1, j + 1
    return depth


def ref_depth(events: Events, steps, window: int, entry: str) -> int:
    starts = [i for i, (_, e) in enumerate(events) if e == steps[0]]
    if not starts:
        return 0
    if entry == "first":
        starts = starts[:1]
    return max(chain_depth(events, i, steps, window) for i in starts)


def clickhouse_model(events: Events, steps, window: int) -> int:
    """ClickHouse's windowFunnel(window, 'strict_increase') level, re-implemented from its documented
    behaviour (module docstring) so that chDB's answers can be explained, not just observed."""
    pairs = sorted((t, level) for t, e in events for level, s in enumerate(steps, 1) if s == e)
    state: list[tuple[int, int] | None] = [None] * len(steps)
    for t, level in pairs:
        if level == 1:
            state[0] = (t, t)
        elif state[level - 2] is not None:
            first, last = state[level - 2]
            if t <= first + window and last < t:
                state[level - 1] = (first, t)
    return max((k + 1 for k, s in enumerate(state) if s is not None), default=0)


def adjacent_tie(events: Events, steps) -> bool:
    """True if some timestamp has an event meeting condition j and one (possibly the same) meeting
    condition j+1: the only situation where ClickHouse's greedy can come out shallower than us."""
    at: dict[int, set[str]] = {}
    for t, e in events:
        at.setdefault(t, set()).add(e)
    return any(steps[j] in kinds and steps[j + 1] in kinds for kinds in at.values() for j in range(len(steps) - 1))


def counts(depths, n_steps: int) -> list[int]:
    depths = list(depths)
    return [sum(d >= k for d in depths) for k in range(1, n_steps + 1)]


# --- the oracles' runners -----------------------------------------------------------------------------

def clickhouse_levels(frame: pd.DataFrame, col: str, specs, tmp: Path) -> dict[tuple, dict[str, int]]:
    """chDB: windowFunnel(window, 'strict_increase') per customer for every (steps, window) of ``specs``,
    in one query over a Parquet copy of the rows, time as UInt64 in the unit of ``col`` (seconds or
    microseconds; ``window`` in the same unit). Returns {(steps, window): {customer: level}}."""
    path = tmp / f"rows_{col}.parquet"
    if not path.exists():
        pq.write_table(pa.table({"user": frame["customer"].to_numpy(), "ts": frame[col].to_numpy().astype(np.uint64),
                                 "event": frame["activity"].to_numpy()}), path)
    specs = list(specs)
    funnels = ", ".join(
        f"windowFunnel({int(window)}, 'strict_increase')(ts, {', '.join(f'event = {s!r}' for s in steps)})"
        for steps, window in specs)
    text = chdb.query(f"SELECT user, {funnels} FROM file('{path}', Parquet) GROUP BY user", "CSV").data()
    out: dict[tuple, dict[str, int]] = {spec: {} for spec in specs}
    for line in text.splitlines():
        user, *levels = line.split(",")
        for spec, level in zip(specs, levels):
            out[spec][user.strip('"')] = int(level)
    return out


def store_of(frame: pd.DataFrame, col: str) -> jm.Store:
    unit = "s" if col == "seconds" else "us"
    data = pd.DataFrame({"customer": frame["customer"], "activity": frame["activity"],
                         "ts": pd.Timestamp(T0) + pd.to_timedelta(frame[col].to_numpy(), unit=unit)})
    store = jm.connect(":memory:")
    jm.read_frame(data, store, activity_col="activity", timestamp_col="ts", customer_col="customer",
                  attribute_cols=[])
    return store


def jm_counts(store: jm.Store, steps, window_seconds: float, entry: str) -> list[int]:
    result = jm.funnel(store, list(steps), window=window_seconds, entry=entry).to_dict()
    return [s["count"] for s in result["steps"]]


# --- the oracles agree with each other (runs even before jm.funnel exists) --------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_clickhouse_model_explains_chdb_on_every_actor(seed, tmp_path):
    frame = random_rows(seed)
    for col, scale in (("seconds", 1), ("micros", 1_000_000)):
        data = frame if col == "seconds" else jittered(frame, seed)
        events = actor_events(data, col)
        specs = [(steps, window * scale) for steps in (*STEP_LISTS, ("a", "a")) for window in WINDOWS]
        levels = clickhouse_levels(data, col, specs, tmp_path)
        for (steps, window), ch in levels.items():  # window in the unit of `col`
            assert ch.keys() == events.keys()
            for user, evs in events.items():
                ours = ref_depth(evs, steps, window, "any")
                assert ch[user] == clickhouse_model(evs, steps, window), (user, steps, window, evs)
                assert ch[user] <= ours, (user, steps, window, evs)  # ClickHouse is never deeper
                if not adjacent_tie(evs, steps):
                    assert ch[user] == ours, (user, steps, window, evs)


def test_the_random_data_has_ties_repeats_and_the_known_differences():
    """Guard the generator: the whole-second data must exercise ties, repeated steps and every step."""
    frame = random_rows(SEEDS[0])
    events = actor_events(frame, "seconds")
    assert sum(len({t for t, _ in evs}) < len(evs) for evs in events.values()) > 50  # actors with ties
    steps = ("a", "b", "c")
    depths = [ref_depth(evs, steps, 60, "any") for evs in events.values()]
    assert all(0 < c < len(events) for c in counts(depths, 3))
    differ = [u for u, evs in events.items()
              if clickhouse_model(evs, steps, 60) != ref_depth(evs, steps, 60, "any")]
    assert differ  # the tie quirks do occur in this data


# --- hand cases: what ClickHouse does where we differ ------------------------------------------------

HAND = [  # (events as (type, second), steps, window, our depth, ClickHouse's level)
    ([("a", 0), ("b", 5), ("c", 10)], "abc", 10, 3, 3),  # inclusive window bound: both
    ([("a", 0), ("b", 5), ("c", 11)], "abc", 10, 2, 2),
    ([("a", 0), ("b", 0), ("c", 1)], "abc", 10, 1, 1),  # a tie never chains: both
    ([("a", 0), ("a", 20), ("b", 21), ("c", 22)], "abc", 10, 3, 3),  # a later start: both
    ([("a", 0), ("b", 1), ("a", 2)], "aba", 10, 3, 3),  # repeated non-adjacent step: both
    ([("a", 0), ("a", 1), ("b", 1)], "ab", 10, 2, 1),  # difference 1: restart at the step-2 second
    ([("a", 0), ("b", 1), ("a", 1)], "aba", 10, 2, 1),  # difference 1 again, via the repeated step
    ([("a", 0), ("b", 3), ("b", 4), ("c", 4)], "abc", 10, 3, 2),  # difference 2: later repeat overwrites
    ([("a", 0), ("a", 1)], "aa", 10, 2, 1),  # difference 3: consecutive identical steps
]


@pytest.mark.parametrize(("events", "steps", "window", "ours", "clickhouse"), HAND)
def test_hand_cases_clickhouse(events, steps, window, ours, clickhouse, tmp_path):
    frame = pd.DataFrame({"customer": ["u"] * len(events), "activity": [e for e, _ in events],
                          "seconds": [t for _, t in events]})
    evs = actor_events(frame, "seconds")["u"]
    spec = (tuple(steps), window)
    assert clickhouse_levels(frame, "seconds", [spec], tmp_path) == {spec: {"u": clickhouse}}
    assert clickhouse_model(evs, tuple(steps), window) == clickhouse
    assert ref_depth(evs, tuple(steps), window, "any") == ours


@pytest.mark.parametrize(("events", "steps", "window", "ours", "clickhouse"), HAND)
def test_hand_cases_journeymine(events, steps, window, ours, clickhouse):
    frame = pd.DataFrame({"customer": ["u"] * len(events), "activity": [e for e, _ in events],
                          "seconds": [t for _, t in events]})
    with store_of(frame, "seconds") as store:
        got = jm_counts(store, tuple(steps), window, "any")
    assert got == [int(ours >= k) for k in range(1, len(steps) + 1)]


# --- journeymine against the oracles -----------------------------------------------------------------

def check_entry_first(store: jm.Store, events: dict[str, Events], scale: int) -> None:
    """entry="first" has no ClickHouse counterpart: jm against the Python reference."""
    for steps in STEP_LISTS:
        for window in WINDOWS:
            ref = counts((ref_depth(evs, steps, window * scale, "first") for evs in events.values()), len(steps))
            assert jm_counts(store, steps, window, "first") == ref, ("first", steps, window)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_ties_entry_any_equals_clickhouse(seed, tmp_path):
    """Microsecond-distinct times: jm's entry="any" counts equal windowFunnel's on the whole data;
    entry="first" equals the Python reference."""
    frame = jittered(random_rows(seed), seed)
    levels = clickhouse_levels(frame, "micros", [(s, w * 1_000_000) for s in STEP_LISTS for w in WINDOWS], tmp_path)
    with store_of(frame, "micros") as store:
        for steps in STEP_LISTS:
            for window in WINDOWS:
                ch = levels[steps, window * 1_000_000]
                assert jm_counts(store, steps, window, "any") == counts(ch.values(), len(steps)), (steps, window)
        check_entry_first(store, actor_events(frame, "micros"), 1_000_000)


@pytest.mark.parametrize("seed", SEEDS)
def test_with_ties_entry_any_equals_clickhouse_where_its_greedy_is_exact(seed, tmp_path):
    """Whole seconds: on the actors without a tie between adjacent conditions (for any of the step
    lists) jm's entry="any" equals ClickHouse; on all actors jm equals the Python reference (deeper than
    ClickHouse on some of the others), for entry="any" and entry="first"."""
    frame = random_rows(seed)
    events = actor_events(frame, "seconds")
    clean = {u for u, evs in events.items() if not any(adjacent_tie(evs, steps) for steps in STEP_LISTS)}
    assert len(clean) > len(events) // 3
    levels = clickhouse_levels(frame, "seconds", [(s, w) for s in STEP_LISTS for w in WINDOWS], tmp_path)
    with store_of(frame, "seconds") as everyone, \
            store_of(frame[frame["customer"].isin(clean)].reset_index(drop=True), "seconds") as subset:
        for steps in STEP_LISTS:
            for window in WINDOWS:
                ch = levels[steps, window]
                assert jm_counts(subset, steps, window, "any") == counts((ch[u] for u in clean), len(steps)), \
                    (steps, window)
                ref = counts((ref_depth(evs, steps, window, "any") for evs in events.values()), len(steps))
                assert jm_counts(everyone, steps, window, "any") == ref, (steps, window)
        check_entry_first(everyone, events, 1)
