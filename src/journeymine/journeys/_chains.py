"""The funnel's sequence kernel: vectorised chain matching over rows ordered by (actor, time).

Pure NumPy, no store: the input is the rows of one or more whole actors (``actor`` a non-decreasing
dense index, ``time`` in µs, rows in (actor, time, load order)), one boolean mask per step, and the
rows that start a chain. Each step is one vectorised pass: for every live chain, the earliest
matching row after the chain's previous step is found by a rank lookup (a running count of that
step's rows, indexed by position: the row index *is* the (actor, time, load order) key, because rows
are in that order); a found row that ties in time with the previous step is skipped in a few extra
vectorised rounds over just those chains. The cost is O(steps x (rows + chains)), with no Python loop over actors or
events, and a batch of whole actors can be processed on its own (Spark partitions, bounded memory).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

try:  # the compiled form of match_ordered (setup.py builds it; optional)
    from . import _kernel
except ImportError:  # pragma: no cover - only without a C compiler at install time
    _kernel = None

__all__ = ["COMPILED", "Matched", "StepRows", "any_order", "count_distinct", "deepest", "first_rows", "last_rows", "match_ordered", "ordered",
           "prune", "tie_bounds"]

NONE = -1
COMPILED = _kernel is not None  # whether match_ordered runs the compiled kernel by default


def first_rows(actor: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The first row of each actor among the rows where ``mask`` holds."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return rows
    a = actor[rows]
    keep = np.empty(rows.size, bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return rows[keep]


def last_rows(actor: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The last row of each actor among the rows where ``mask`` holds."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return rows
    a = actor[rows]
    keep = np.empty(rows.size, bool)
    keep[-1] = True
    np.not_equal(a[:-1], a[1:], out=keep[:-1])
    return rows[keep]


def prune(actor: np.ndarray, time: np.ndarray, second: np.ndarray, starts: np.ndarray, *,
          ties: str = "strict") -> np.ndarray:
    """The chain starts that can be the latest-starting deepest chain of their actor.

    Starts of one actor that find the same step-2 row (no step-2 row lies between them) continue
    identically from there, and the later start has the looser window: it reaches at least as deep.
    So only the last start before each step-2 row (and the actor's last start) is kept.
    """
    if starts.size < 2:
        return starts
    nxt = StepRows(second).next(actor, time, starts, ties)[2]  # which step-2 row each start finds
    a = actor[starts]
    keep = np.empty(starts.size, bool)
    keep[-1] = True
    keep[:-1] = (a[:-1] != a[1:]) | (nxt[:-1] != nxt[1:])
    return starts[keep]


def tie_bounds(actor: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the first row of its (actor, time) group and one past its last row."""
    n = time.size
    new = np.empty(n, bool)
    if n:
        new[0] = True
        new[1:] = (actor[1:] != actor[:-1]) | (time[1:] != time[:-1])
    starts = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    ends = np.append(starts[1:], n)
    return starts[group], ends[group]


class StepRows:
    """The rows of one step and their rank: how many of them lie before a position."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask
        self.rows = np.flatnonzero(mask)

    def rank(self, positions: np.ndarray) -> np.ndarray:
        """Number of the step's rows with index < each position: a running count indexed by position
        when there are many positions (O(rows)), a binary search when there are few."""
        if positions.size * 8 < self.mask.size:
            return np.searchsorted(self.rows, positions)
        before = np.zeros(self.mask.size + 1, np.int32 if self.mask.size < 2**31 else np.int64)
        np.cumsum(self.mask, out=before[1:])
        return before[positions].astype(np.int64)

    def at(self, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = j < self.rows.size
        return self.rows[np.minimum(j, max(self.rows.size - 1, 0))] if self.rows.size else j, found

    def next(self, actor: np.ndarray, time: np.ndarray, prev: np.ndarray, ties: str):
        """For each row in ``prev``, the first row of this step after it: later in time (``"strict"``)
        or in (time, load order) (``"allow"``). Returns (row, found, index among the step's rows).

        A rank lookup finds the first step row after ``prev`` in load order; only where that row ties
        in time with ``prev`` (rare) is the search continued, row by row of the step, in a few
        vectorised rounds."""
        j = self.rank(prev + 1)
        cand, found = self.at(j)
        if ties == "strict" and self.rows.size:
            tied = np.flatnonzero(found & (time[cand] == time[prev]) & (actor[cand] == actor[prev]))
            while tied.size:
                j[tied] += 1
                c, f = self.at(j[tied])
                cand[tied], found[tied] = c, f
                tied = tied[f & (time[c] == time[prev[tied]]) & (actor[c] == actor[prev[tied]])]
        return cand, found, j


def ordered(actor: np.ndarray, time: np.ndarray, masks: list[np.ndarray], starts: np.ndarray, window_us: int,
            *, ties: str = "strict", adjacent: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each chain's steps, shape (steps, chains) with ``NONE`` where a step was not reached,
    and each chain's depth.

    Step k of a chain is the earliest row matching step k that comes after step k-1's row: strictly
    later in time (``ties="strict"``) or later in (time, load order) (``ties="allow"``), and within
    ``window_us`` of the chain's first row (inclusive). With ``adjacent`` (order mode ``strict``) it
    must be the very next row of the actor.
    """
    k_steps, m = len(masks), starts.size
    rows = np.full((k_steps, m), NONE, np.int64)
    depth = np.ones(m, np.int64)
    if m == 0:
        return rows, depth
    rows[0] = starts
    t1 = time[starts]
    chain_actor = actor[starts]
    alive = np.arange(m)
    prev = starts
    n = time.size
    for k in range(1, k_steps):
        if alive.size == 0:
            break
        if adjacent:
            cand = prev + 1
            ok = cand < n
            cand = np.where(ok, cand, 0)
            ok &= masks[k][cand]
            if ties == "strict":
                ok &= time[cand] > time[prev]
        else:
            cand, ok, _ = StepRows(masks[k]).next(actor, time, prev, ties)
        ok &= actor[cand] == chain_actor[alive]
        ok &= time[cand] - t1[alive] <= window_us
        alive, prev = alive[ok], cand[ok]
        rows[k, alive] = prev
        depth[alive] += 1
    return rows, depth


def any_order(actor: np.ndarray, time: np.ndarray, masks: list[np.ndarray], starts: np.ndarray,
              window_us: int) -> np.ndarray:
    """Times (µs) at which each chain had completed 1, 2, ... distinct steps, shape (steps, chains);
    ``NONE`` past the chain's depth.

    A chain starts at a row matching any step; step k counts when a row matching it lies at the
    chain's start time or later (an event at the same time counts, order does not matter here) and
    within ``window_us`` of the start. One row may complete several steps at once.
    """
    k_steps, m = len(masks), starts.size
    if m == 0:
        return np.full((k_steps, 0), NONE, np.int64)
    t1 = time[starts]
    chain_actor = actor[starts]
    first_of_tie = tie_bounds(actor, time)[0][starts]
    big = np.iinfo(np.int64).max
    reached = np.full((k_steps, m), big, np.int64)
    for k in range(k_steps):
        step = StepRows(masks[k])
        cand, ok = step.at(step.rank(first_of_tie))
        ok &= actor[cand] == chain_actor
        ok &= time[cand] - t1 <= window_us
        reached[k, ok] = time[cand[ok]]
    reached.sort(axis=0)
    reached[reached == big] = NONE
    return reached


def deepest(chain_actor: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Per actor (in order), the index of its deepest chain; the latest-starting one among equals.

    ``chain_actor`` must be non-decreasing (chains in start order)."""
    if chain_actor.size == 0:
        return chain_actor
    new = np.empty(chain_actor.size, bool)
    new[0] = True
    np.not_equal(chain_actor[1:], chain_actor[:-1], out=new[1:])
    bounds = np.flatnonzero(new)
    best = np.maximum.reduceat(depth, bounds)
    group = np.cumsum(new) - 1
    return last_rows(chain_actor, depth == best[group])


def count_distinct(values: np.ndarray, *, compiled: bool | None = None) -> int:
    """The number of distinct values of an integer array (a bitset pass in C, else a NumPy mark array)."""
    values = np.ascontiguousarray(values, np.int64)
    if values.size == 0:
        return 0
    if COMPILED if compiled is None else compiled:
        return _kernel.count_distinct(values)
    lo = int(values.min())
    seen = np.zeros(int(values.max()) - lo + 1, bool)
    seen[values - lo] = True
    return int(np.count_nonzero(seen))


class Matched(NamedTuple):
    """Chosen chains, one per entering actor: ``start`` row, ``depth``, ``rows`` and ``times`` (µs) of
    each step, shape (steps, actors), ``NONE`` past the depth; ``actors``: all actors in the input."""

    start: np.ndarray
    depth: np.ndarray
    rows: np.ndarray
    times: np.ndarray
    actors: int


def match_ordered(actor: np.ndarray, time: np.ndarray, masks: list[np.ndarray], window_us: int, *,
                  entry: str = "first", ties: str = "strict", compiled: bool | None = None) -> Matched:
    """An ordered funnel's chosen chain per entering actor.

    ``actor`` only needs to be non-decreasing and equal exactly within an actor (a dense index, object
    codes or session numbers). ``entry="first"`` follows the chain from each actor's first step-1 row;
    ``entry="any"`` follows one from every step-1 row (after :func:`prune`) and keeps the deepest, the
    latest-starting among equals (:func:`deepest`). Steps are matched as in :func:`ordered`.
    ``compiled`` picks the C kernel (``_kernel.c``, one pass per actor, O(steps x rows)) or this
    module's NumPy passes; by default the C kernel when it was built (for up to 16 steps). Both give the
    same result (tested on random data)."""
    compiled = COMPILED if compiled is None else compiled
    if compiled and _kernel is None:
        raise RuntimeError("the compiled kernel journeymine.journeys._kernel was not built")
    n, k_steps = time.size, len(masks)
    if compiled and k_steps <= 16 and n:
        # outputs sized for every row entering: only the pages the kernel writes are ever touched
        start, depth = np.empty(n, np.int64), np.empty(n, np.int64)
        rows, times = np.empty((k_steps, n), np.int64), np.empty((k_steps, n), np.int64)
        bits = masks[0].astype(np.uint16)
        for k in range(1, k_steps):
            bits |= masks[k].astype(np.uint16) << k
        count, actors = _kernel.match_ordered(np.ascontiguousarray(actor, np.int64), np.ascontiguousarray(time, np.int64),
                                              bits, k_steps, int(window_us), entry == "any", ties == "strict",
                                              start, depth, rows, times)
        return Matched(start[:count], depth[:count], rows[:, :count], times[:, :count], actors)
    start_mask = masks[0]
    if entry == "first":
        starts = first_rows(actor, start_mask)
    else:
        starts = np.flatnonzero(start_mask)
        if k_steps > 1:
            starts = prune(actor, time, masks[1], starts, ties=ties)
    rows, depth = ordered(actor, time, masks, starts, window_us, ties=ties)
    if entry == "any":
        pick = deepest(actor[starts], depth)
        starts, depth, rows = starts[pick], depth[pick], rows[:, pick]
    times = np.where(rows != NONE, time[np.maximum(rows, 0)], NONE)
    return Matched(starts, depth, rows, times, int(np.count_nonzero(actor[1:] != actor[:-1])) + 1 if n else 0)
