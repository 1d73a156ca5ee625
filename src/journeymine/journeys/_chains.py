"""The funnel's sequence kernel: vectorised chain matching over rows ordered by (actor, time).

Pure NumPy, no store: the input is the rows of one or more whole actors (``actor`` a non-decreasing
dense index, ``time`` in µs, rows in (actor, time, load order)), one boolean mask per step, and the
rows that start a chain. Each step is one vectorised pass: for every live chain, the earliest
matching row after the chain's previous step is found by a rank lookup (a running count of that
step's rows, indexed by position: the row index *is* the (actor, time, load order) key, because rows
are in that order). The cost is O(steps x (rows + chains)), with no Python loop over actors or
events, and a batch of whole actors can be processed on its own (Spark partitions, bounded memory).
"""

from __future__ import annotations

import numpy as np

__all__ = ["any_order", "deepest", "first_rows", "last_rows", "ordered", "prune", "tie_bounds", "tie_ends"]

NONE = -1


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


def prune(actor: np.ndarray, second: np.ndarray, starts: np.ndarray, tie_end: np.ndarray | None) -> np.ndarray:
    """The chain starts that can be the latest-starting deepest chain of their actor.

    Starts of one actor that find the same step-2 row (no step-2 row lies between them) continue
    identically from there, and the later start has the looser window: it reaches at least as deep.
    So only the last start before each step-2 row (and the actor's last start) is kept. ``tie_end``
    (from :func:`tie_ends`) for ``ties="strict"``, ``None`` for ``"allow"``.
    """
    if starts.size < 2:
        return starts
    positions = tie_end[starts] if tie_end is not None else starts + 1
    nxt = _before(second)[positions]  # which step-2 row each start finds (or past the end)
    a = actor[starts]
    keep = np.empty(starts.size, bool)
    keep[-1] = True
    keep[:-1] = (a[:-1] != a[1:]) | (nxt[:-1] != nxt[1:])
    return starts[keep]


def tie_ends(actor: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Per row: one past the last row of its (actor, time) group (``row + 1`` unless tied)."""
    n = time.size
    ends = np.arange(1, n + 1, dtype=np.int64)
    if n < 2:
        return ends
    tied = (actor[1:] == actor[:-1]) & (time[1:] == time[:-1])  # row i ties with row i + 1
    if not tied.any():
        return ends
    last = np.ones(n, bool)  # the last row of its tie group
    last[:-1] = ~tied
    at = np.where(last, np.arange(n), n)
    return np.minimum.accumulate(at[::-1])[::-1] + 1


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


def _before(mask: np.ndarray) -> np.ndarray:
    """``before[p]`` = number of rows with index < p where ``mask`` holds (length n + 1)."""
    before = np.zeros(mask.size + 1, np.int32 if mask.size < 2**31 else np.int64)
    np.cumsum(mask, out=before[1:])
    return before


def _next(mask: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position, the first row at or after it where ``mask`` holds (and whether there is one).

    A rank lookup (``before[position]``) instead of a binary search: O(rows + positions)."""
    rows_k = np.flatnonzero(mask)
    if rows_k.size == 0:
        return np.zeros_like(positions), np.zeros(positions.size, bool)
    j = _before(mask)[positions]
    found = j < rows_k.size
    return rows_k[np.minimum(j, rows_k.size - 1)], found


def ordered(actor: np.ndarray, time: np.ndarray, masks: list[np.ndarray], starts: np.ndarray, window_us: int,
            *, ties: str = "strict", adjacent: bool = False, tie_end: np.ndarray | None = None) -> np.ndarray:
    """Rows of each chain's steps, shape (steps, chains); ``NONE`` where a step was not reached.

    Step k of a chain is the earliest row matching step k that comes after step k-1's row: strictly
    later in time (``ties="strict"``) or later in (time, load order) (``ties="allow"``), and within
    ``window_us`` of the chain's first row (inclusive). With ``adjacent`` (order mode ``strict``) it
    must be the very next row of the actor.
    """
    k_steps, m = len(masks), starts.size
    rows = np.full((k_steps, m), NONE, np.int64)
    if m == 0:
        return rows
    rows[0] = starts
    t1 = time[starts]
    chain_actor = actor[starts]
    alive = np.arange(m)
    prev = starts
    if ties == "strict" and not adjacent and tie_end is None:
        tie_end = tie_ends(actor, time)
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
            cand, ok = _next(masks[k], tie_end[prev] if tie_end is not None else prev + 1)
        ok &= actor[cand] == chain_actor[alive]
        ok &= time[cand] - t1[alive] <= window_us
        alive, prev = alive[ok], cand[ok]
        rows[k, alive] = prev
    return rows


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
        cand, ok = _next(masks[k], first_of_tie)
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
