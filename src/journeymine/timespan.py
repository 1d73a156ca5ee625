"""Durations as analyses take them: ``"30m"``, ``"7d"``, ``"1h30m"``, a number of seconds or a
``timedelta``. One parser, so every analysis and the CLI accept the same spellings."""

from __future__ import annotations

import datetime as dt
import re

from .errors import ConfigError

__all__ = ["parse_duration", "parse_instant"]

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d|w)")


def parse_duration(value: object, field: str) -> float:
    """Seconds in ``value``; ``field`` names the parameter in the error for a bad value.

    >>> parse_duration("7d", "window"), parse_duration("1h30m", "gap"), parse_duration(90, "gap")
    (604800.0, 5400.0, 90.0)
    """
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            text += "s"
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ConfigError(
                f"The {field} parameter must be a duration such as '30m', '24h', '7d' or '1h30m' "
                f"(units ms, s, m, h, d, w). Got {value!r} instead.", field=field)
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ConfigError(f"The {field} parameter must be a duration ('7d', seconds or a timedelta). "
                          f"Got {value!r} instead.", field=field)
    if not seconds > 0:
        raise ConfigError(f"The {field} parameter must be a positive duration. Got {value!r} instead.", field=field)
    return seconds


def parse_instant(value: object, field: str) -> dt.datetime | None:
    """A naive UTC ``datetime`` from a ``datetime``, ``date`` or ISO 8601 text; ``None`` stays ``None``.

    >>> parse_instant("2026-01-05", "start"), parse_instant("2026-01-05T10:00+01:00", "end")
    (datetime.datetime(2026, 1, 5, 0, 0), datetime.datetime(2026, 1, 5, 9, 0))
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(f"The {field} parameter must be an ISO 8601 date or time. Got {value!r} instead.",
                              field=field) from None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise ConfigError(f"The {field} parameter must be a date or time. Got {value!r} instead.", field=field)
