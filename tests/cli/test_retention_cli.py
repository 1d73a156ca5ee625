"""`journeymine retention` on a small DuckDB file store: table, JSON and a bad parameter."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app
from journeymine.journeys._retention import retention

runner = CliRunner()
T0 = dt.datetime(2024, 1, 1, 10)  # a Monday


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """Two weekly cohorts: u1 and u2 start in the week of Jan 1, u3 in the week of Jan 8."""
    rows = [("u1", "visit", 0), ("u1", "visit", 8), ("u2", "visit", 1), ("u2", "buy", 9), ("u3", "visit", 7),
            ("u3", "visit", 15), ("u9", "other", 21)]
    path = tmp_path_factory.mktemp("cli") / "shop.duckdb"
    df = pd.DataFrame({"customer": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(days=r[2]) for r in rows]})
    with jm.connect(path) as store:
        jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", customer_col="customer")
    return path


def test_retention_json_equals_the_library(shop):
    res = runner.invoke(app, ["retention", "--store", str(shop), "--start-event", "visit", "--period", "week",
                              "--periods", "3", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["ok"] is True and d["period"] == "week" and d["returns"] == "recurring" and d["mode"] == "on"
    assert [(c["cohort"], c["size"], c["retained"]) for c in d["cohorts"]] == [
        ("2024-01-01", 2, [0, 1, 0]), ("2024-01-08", 1, [0, 1, None])]  # the store ends on Mon Jan 22
    assert [p["at_risk"] for p in d["curve"]] == [3, 3, 2] and d["curve"][2]["share"] == 0.0
    with jm.connect(shop, read_only=True) as s:
        expected = json.loads(retention(s, "visit", period="week", periods=3).to_json())
    assert {k: v for k, v in d.items() if k != "ok"} == expected


def test_retention_table_with_a_return_event(shop):
    res = runner.invoke(app, ["retention", "--store", str(shop), "--start-event", "visit", "--return-event", "buy",
                              "--periods", "2", "--returns", "first_time", "--mode", "on_or_after"])
    assert res.exit_code == 0, res.output
    assert "2024-01-01" in res.output and "50.0%" in res.output and "week 1" in res.output
    assert "not fully observed" in res.output


def test_retention_bad_parameter_is_one_line_and_json(shop):
    res = runner.invoke(app, ["retention", "--store", str(shop), "--start-event", "visit", "--period", "year"])
    assert res.exit_code == 1 and "period" in res.output and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["retention", "--store", str(shop), "--start-event", "visit", "--mode", "x", "--json"])
    assert res.exit_code == 1 and json.loads(res.output) == {
        "ok": False, "code": "config_error", "status": 400,
        "error": "The mode parameter must be one of ['on', 'on_or_after']. Got 'x' instead."}
