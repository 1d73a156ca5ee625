"""jm.BusinessHours: working time equals a minute-by-minute count; bad settings name their field."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

import journeymine as jm
from journeymine.errors import ConfigError


def minutes_open(cal_days, opens_h, closes_h, holidays, a: dt.datetime, b: dt.datetime, offset=0.0) -> int:
    """Reference: walk minute by minute (local time = UTC + offset) and count the open ones."""
    n, t = 0, a
    while t < b:
        local = t + dt.timedelta(hours=offset)
        if local.weekday() in cal_days and local.date() not in holidays and opens_h <= local.hour < closes_h:
            n += 1
        t += dt.timedelta(minutes=1)
    return n


@pytest.mark.parametrize("days, names, opens, closes, offset", [
    ((0, 1, 2, 3, 4), "Mon-Fri", 9, 17, 0.0),
    ((0, 1, 2, 3, 4, 5), "Mon-Sat", 6, 22, 0.0),
    ((0, 4, 5, 6), "Fri-Mon", 0, 24, 0.0),  # a range across the week's end, whole days
    ((0, 2, 4), "Mon,Wed,Fri", 8, 12, 2.0),
])
def test_working_time_equals_counting_open_minutes(days, names, opens, closes, offset):
    rng = random.Random(7)
    holidays = {dt.date(2024, 3, 6), dt.date(2024, 3, 11)}
    cal = jm.BusinessHours(names, f"{opens:02d}:00", f"{closes:02d}:00", utc_offset=offset,
                           holidays=sorted(holidays))
    assert cal.weekdays == days
    base = dt.datetime(2024, 3, 1)
    for _ in range(25):
        a = base + dt.timedelta(minutes=rng.randrange(0, 20 * 1440))
        b = a + dt.timedelta(minutes=rng.randrange(0, 9 * 1440))
        assert cal.seconds(a, b) == 60 * minutes_open(days, opens, closes, holidays, a, b, offset), (a, b)


def test_arrays_and_scalars_agree():
    cal = jm.BusinessHours()
    a = np.array([int(dt.datetime(2024, 1, 5, 16, tzinfo=dt.UTC).timestamp() * 1e6)])
    b = a + 3 * 86400 * 10**6
    assert cal.seconds(a, b).tolist() == [cal.seconds(dt.datetime(2024, 1, 5, 16), dt.datetime(2024, 1, 8, 16))]
    assert cal.to_dict() == {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri"], "opens": "09:00", "closes": "17:00",
                             "utc_offset": 0.0, "holidays": []}


@pytest.mark.parametrize("kwargs, field", [
    ({"weekdays": "Monday-Funday"}, "weekdays"), ({"weekdays": []}, "weekdays"), ({"opens": "25:00"}, "opens"),
    ({"opens": "18:00", "closes": "09:00"}, "closes"), ({"utc_offset": 20}, "utc_offset"),
    ({"holidays": ["not a date"]}, "holidays"),
])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field) as e:
        jm.BusinessHours(**kwargs)
    assert e.value.context["field"] == field
