"""Business-hours calendars: durations that count only working time.

A :class:`BusinessHours` calendar has working weekdays, daily opening hours (the same every working
day, in UTC or a fixed offset from it) and optional holidays (whole dates, no work). The working time
between two instants is the length of their overlap with the open hours; an instant outside the open
hours counts from the next opening. Durations are computed without loops: ``W(t)``, the working time
from a fixed Monday to ``t``, is a closed formula of the week, weekday and time of day of ``t`` (minus
the open hours of the holidays before ``t``), and the working time from ``a`` to ``b`` is
``W(b) - W(a)``. pm4py's ``business_hours`` does the same job with a loop per interval; Celonis and
Disco call it a working calendar. Daylight saving time is not modelled (give the offset in force).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable

import numpy as np

from ..errors import ConfigError

__all__ = ["BusinessHours"]

_US = 1_000_000
_DAY = 86_400 * _US
_WEEK = 7 * _DAY
_MONDAY = int(dt.datetime(1970, 1, 5, tzinfo=dt.UTC).timestamp()) * _US
_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(name: str) -> int | None:
    name = name.strip().lower()
    for names in (_NAMES, _FULL):
        if name in names:
            return names.index(name)
    return None


def _weekdays(value: object) -> tuple[int, ...]:
    """Weekday numbers (Monday 0) from ``"Mon-Fri"``, ``"Mon,Wed"`` or an iterable of numbers/names."""
    items: list[object]
    if isinstance(value, str):
        items = []
        for part in value.lower().replace(" ", "").split(","):
            ends = [_day(e) for e in part.split("-")]
            if len(ends) == 2 and None not in ends:
                a, b = ends
                items.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
            else:
                items.append(part)
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        items = [value]
    days = set()
    for item in items:
        if isinstance(item, str) and _day(item) is not None:
            days.add(_day(item))
        elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            days.add(item)
        else:
            raise ConfigError(f"The weekdays parameter must name weekdays ('Mon-Fri', 'Mon,Sat' or numbers 0-6 "
                              f"from Monday). Got {value!r} instead.", field="weekdays")
    if not days:
        raise ConfigError("The weekdays parameter must name at least one working day.", field="weekdays")
    return tuple(sorted(days))


def _clock(value: object, field: str) -> int:
    """Seconds after midnight of ``"HH:MM"``, a ``time`` or a number of hours."""
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 24:
        return round(value * 3600)
    if isinstance(value, str) and (m := re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())):
        seconds = int(m[1]) * 3600 + int(m[2]) * 60
        if seconds <= 86400 and int(m[2]) < 60:
            return seconds
    raise ConfigError(f"The {field} parameter must be a time of day such as '09:00'. Got {value!r} instead.",
                      field=field)


@dataclasses.dataclass(frozen=True)
class BusinessHours:
    """Working time: ``weekdays`` (default Monday to Friday) from ``opens`` to ``closes`` (default
    09:00-17:00), at ``utc_offset`` hours from UTC, with ``holidays`` (dates) off.

    >>> cal = BusinessHours("Mon-Fri", "09:00", "17:00")
    >>> friday_4pm, monday_10am = dt.datetime(2026, 1, 9, 16), dt.datetime(2026, 1, 12, 10)
    >>> cal.seconds(friday_4pm, monday_10am) / 3600   # 1 h on Friday, 1 h on Monday
    2.0
    """

    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    opens: int = 9 * 3600
    closes: int = 17 * 3600
    utc_offset: float = 0.0
    holidays: tuple[dt.date, ...] = ()

    def __init__(self, weekdays: object = "Mon-Fri", opens: object = "09:00", closes: object = "17:00", *,
                 utc_offset: float = 0.0, holidays: Iterable[dt.date | str] = ()) -> None:
        o, c = _clock(opens, "opens"), _clock(closes, "closes")
        if c <= o:
            raise ConfigError(f"The closes parameter ({closes!r}) must be later than opens ({opens!r}).",
                              field="closes")
        if isinstance(utc_offset, bool) or not isinstance(utc_offset, (int, float)) or abs(utc_offset) > 14:
            raise ConfigError(f"The utc_offset parameter must be hours from UTC (-14 to 14). Got {utc_offset!r} "
                              "instead.", field="utc_offset")
        days = []
        for h in holidays:
            try:
                days.append(h if isinstance(h, dt.date) else dt.date.fromisoformat(str(h)))
            except ValueError:
                raise ConfigError(f"The holidays parameter must hold dates. Got {h!r} instead.",
                                  field="holidays") from None
        object.__setattr__(self, "weekdays", _weekdays(weekdays))
        object.__setattr__(self, "opens", o)
        object.__setattr__(self, "closes", c)
        object.__setattr__(self, "utc_offset", float(utc_offset))
        object.__setattr__(self, "holidays", tuple(sorted({d.date() if isinstance(d, dt.datetime) else d
                                                          for d in days})))

    def to_dict(self) -> dict[str, object]:
        return {"weekdays": [_NAMES[d].title() for d in self.weekdays],
                "opens": f"{self.opens // 3600:02d}:{self.opens % 3600 // 60:02d}",
                "closes": f"{self.closes // 3600:02d}:{self.closes % 3600 // 60:02d}",
                "utc_offset": self.utc_offset, "holidays": [d.isoformat() for d in self.holidays]}

    def _tables(self) -> tuple[np.ndarray, np.ndarray, int]:
        shift = (self.closes - self.opens) * _US
        work = np.zeros(7, np.int64)
        work[list(self.weekdays)] = 1
        before = np.concatenate([[0], np.cumsum(work * shift)[:-1]])  # working µs in the week before each day
        return work, before, shift

    def worked(self, t: np.ndarray) -> np.ndarray:
        """Working µs from a fixed Monday 00:00 (local) to each instant ``t`` (µs since the epoch, UTC)."""
        work, before, shift = self._tables()
        local = np.asarray(t, np.int64) + round(self.utc_offset * 3600 * _US) - _MONDAY
        weeks, within = np.divmod(local, _WEEK)
        day, tod = np.divmod(within, _DAY)
        today = np.clip(tod - self.opens * _US, 0, shift) * work[day]
        total = weeks * int(work.sum() * shift) + before[day] + today
        if self.holidays:
            # the open hours of working-day holidays before t are taken back out
            starts = np.array([int(dt.datetime(h.year, h.month, h.day, tzinfo=dt.UTC).timestamp()) * _US - _MONDAY
                               for h in self.holidays if h.weekday() in self.weekdays], np.int64) + self.opens * _US
            if starts.size:
                k = np.searchsorted(starts, local, side="right")  # holidays opened at or before t
                partial = np.clip(local - starts[np.maximum(k - 1, 0)], 0, shift) * (k > 0)
                total = total - np.maximum(k - 1, 0) * shift - partial
        return total

    def seconds(self, a: object, b: object) -> object:
        """Working seconds from ``a`` to ``b`` (datetimes, naive = UTC, or arrays of µs since the epoch)."""
        scalar = isinstance(a, dt.datetime)
        if scalar:
            a, b = (np.array([_micros(x)]) for x in (a, b))
        out = (self.worked(b) - self.worked(a)) / _US
        return float(out[0]) if scalar else out


def _micros(value: dt.datetime) -> int:
    value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
    return int(value.timestamp()) * _US + value.microsecond
