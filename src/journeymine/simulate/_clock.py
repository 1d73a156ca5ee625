"""Time, randomness and identifiers of the simulator, vectorised.

Times are int64 microseconds since the Unix epoch, UTC. Working hours are 06:00-22:00 UTC Monday to
Saturday (warehouses, service teams); a duration "in working time" only runs inside them. Carriers
collect at 18:00 UTC Monday to Saturday. Object ids that must not give away who is behind them
(visitors, sessions) are a bijective scramble of a counter, so they are unique and look random.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DAY", "HOUR", "MINUTE", "SECOND", "Clock", "ids", "lognormal", "scrambled_ids", "segment_cumsum"]

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
_MONDAY = dt.datetime(1970, 1, 5, tzinfo=dt.UTC)  # the first Monday after the epoch
_MONDAY0 = int(_MONDAY.timestamp()) * SECOND
_OPEN, _CLOSE, _PICKUP = 6 * HOUR, 22 * HOUR, 18 * HOUR
_SHIFT = _CLOSE - _OPEN
_WORK_WEEK = 6 * _SHIFT
_MASK40 = (1 << 40) - 1


def lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    """``n`` log-normal draws with the given median and log-scale sigma (float64)."""
    return median * np.exp(sigma * rng.standard_normal(n))


def segment_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each index in ``starts`` (sorted, first must be 0)."""
    total = np.cumsum(values)
    offset = np.zeros_like(total)
    if starts.size:
        base = np.r_[0, total[starts[1:] - 1]] if starts.size > 1 else np.zeros(1, total.dtype)
        lengths = np.diff(np.r_[starts, values.size])
        offset = np.repeat(base, lengths)
    return total - offset


class Clock:
    """The simulated period: ``days`` days from ``start`` (a date, midnight UTC)."""

    def __init__(self, start: dt.date, days: int):
        self.start = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()) * SECOND
        self.days = days
        self.end = self.start + days * DAY

    def weekday(self, t: np.ndarray) -> np.ndarray:
        return ((t - _MONDAY0) // DAY) % 7

    def day_index(self, t: np.ndarray) -> np.ndarray:
        return (t - self.start) // DAY

    @staticmethod
    def to_work(t: np.ndarray) -> np.ndarray:
        """Working microseconds since the reference Monday (closed time maps to the next opening)."""
        rel = t - _MONDAY0
        week, rest = np.divmod(rel, WEEK)
        day, tod = np.divmod(rest, DAY)
        inside = np.clip(tod - _OPEN, 0, _SHIFT)
        return week * _WORK_WEEK + np.minimum(day, 6) * _SHIFT + np.where(day == 6, 0, inside)

    @staticmethod
    def from_work(w: np.ndarray) -> np.ndarray:
        week, rest = np.divmod(w, _WORK_WEEK)
        day, inside = np.divmod(rest, _SHIFT)
        return _MONDAY0 + week * WEEK + day * DAY + _OPEN + inside

    def add_work(self, t: np.ndarray, duration: np.ndarray) -> np.ndarray:
        """``t`` plus ``duration`` microseconds of working time (starting at the next opening)."""
        return self.from_work(self.to_work(t) + duration.astype(np.int64))

    def next_pickup(self, t: np.ndarray) -> np.ndarray:
        """The first carrier collection (18:00, Monday-Saturday) at or after ``t``."""
        slot = (t - _MONDAY0) // DAY * DAY + _MONDAY0 + _PICKUP
        slot = np.where(slot < t, slot + DAY, slot)
        return np.where(self.weekday(slot) == 6, slot + DAY, slot)

    def end_of_day(self, t: np.ndarray, plus_days: np.ndarray | int = 0) -> np.ndarray:
        """The last microsecond of the day of ``t`` plus ``plus_days`` days."""
        return (t - _MONDAY0) // DAY * DAY + _MONDAY0 + (np.asarray(plus_days) + 1) * DAY - 1


def _scramble(n: np.ndarray) -> np.ndarray:
    x = n.astype(np.uint64) & np.uint64(_MASK40)
    for mult, shift in ((0x9E3779B97, 17), (0xC2B2AE3D27, 13), (0x165667B19, 19)):
        x = (x * np.uint64(mult)) & np.uint64(_MASK40)
        x ^= x >> np.uint64(shift)
    return x


def scrambled_ids(prefix: str, chunk: int, local: np.ndarray) -> pa.Array:
    """Unique ids ``prefix`` + a 40-bit scramble of (chunk, local counter): no visible order."""
    n = (np.uint64(chunk) << np.uint64(28)) + local.astype(np.uint64)
    return ids(prefix, _scramble(n), width=13)


def ids(prefix: str, numbers: np.ndarray, width: int = 7) -> pa.Array:
    """``prefix`` + the numbers, zero-padded to ``width`` digits, as an Arrow string array."""
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, text, "")
