"""`journeymine drivers`: the table, the JSON form and a bad parameter, on a small DuckDB file store."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli._app import app

runner = CliRunner()
T0 = dt.datetime(2024, 1, 1)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """40 customers enter a -> c; the 20 who do x first convert 15 times, the others 5 times."""
    rows = []
    for i in range(40):
        who, helped = f"u{i}", i < 20
        rows += [(who, "a", 0), *([(who, "x", 5)] if helped else [])]
        if (i < 15) if helped else (i < 25):
            rows.append((who, "c", 10))
    path = tmp_path_factory.mktemp("cli") / "drivers.duckdb"
    df = pd.DataFrame({"customer": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows]})
    with jm.connect(path) as store:
        jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", customer_col="customer")
    return path


def test_drivers_json(store_path):
    res = runner.invoke(app, ["drivers", "--store", str(store_path), "--steps", "a,c", "--window", "1m",
                              "--min-actors", "10", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["ok"] and out["actors_total"] == 40 and out["successes"] == 20
    (x,) = out["drivers"]
    assert (x["feature"], x["actors_with"], x["successes_with"], x["successes_without"]) == ("x", 20, 15, 5)
    assert x["odds_ratio"] == pytest.approx(16 * 16 / (6 * 6)) and x["significant"] is True


def test_drivers_table(store_path):
    res = runner.invoke(app, ["drivers", "--store", str(store_path), "--steps", "a, c", "--window", "1m",
                              "--min-actors", "10"])
    assert res.exit_code == 0, res.output
    assert "20 of 40 entrants converted" in res.output and "x (events)" in res.output and "7.11" in res.output


def test_drivers_bad_parameter(store_path):
    res = runner.invoke(app, ["drivers", "--store", str(store_path), "--steps", "a,c", "--min-actors", "0", "--json"])
    assert res.exit_code == 1
    err = json.loads(res.output)
    assert err["ok"] is False and err["code"] == "config_error" and "min_actors" in err["error"]
    text = runner.invoke(app, ["drivers", "--store", str(store_path), "--steps", "a,c", "--features", "vibes"])
    assert text.exit_code == 1 and "features" in text.output
