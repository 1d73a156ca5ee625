"""`journeymine kpis` on a simulated store file: the JSON is the library's result, the tables print, and
a bad parameter is one line (or the JSON error shape) with exit code 1."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app
from journeymine.journeys._kpis import KPIS, kpis

runner = CliRunner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "shop.duckdb"
    jm.simulate(customers=400, days=40, seed=8, store=path).store.close()
    return path


def test_json_equals_the_library(shop):
    res = runner.invoke(app, ["kpis", "--store", str(shop), "--segment", "region", "--interval", "month",
                              "--start", "2026-01-10", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    with jm.connect(shop, read_only=True) as s:
        expected = kpis(s, start="2026-01-10", segment="region", interval="month")
    assert d.pop("ok") is True and d == json.loads(expected.to_json())
    assert d["start"] == "2026-01-10T00:00:00" and {r["segment"] for r in d["rows"]} >= {"(all)", "north"}
    feb = [r for r in d["rows"] if r["kpi"] == "retention_rate" and r["segment"] == "(all)"][1]
    assert feb["period_start"] == "2026-02-01T00:00:00" and feb["denominator"] > 0


def test_tables_and_definitions(shop):
    res = runner.invoke(app, ["kpis", "--store", str(shop)])
    assert res.exit_code == 0, res.output
    assert "all customers" in res.output and "95 % interval" in res.output and "Definitions" in res.output
    assert all(f"{k}:" in res.output for k in KPIS)
    with jm.connect(shop, read_only=True) as s:
        o = jm.overview(s)
    assert f"{o.sessions:,}" in res.output and f"{o.contacts:,}" in res.output
    weeks = runner.invoke(app, ["kpis", "--store", str(shop), "--interval", "week", "--segment", "segment"])
    assert weeks.exit_code == 0 and "segment = new" in weeks.output and "repeat" in weeks.output
    # (all), (none) (anonymous sessions), existing and new: one row per week (Jan 5 to Feb 13: six weeks)
    assert weeks.output.count("│ 2026") == 4 * 6


def test_bad_parameters_are_one_line_and_json(shop, tmp_path):
    res = runner.invoke(app, ["kpis", "--store", str(shop), "--interval", "day"])
    assert res.exit_code == 1 and "interval" in res.output and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["kpis", "--store", str(shop), "--start", "2026-02-01", "--end", "2026-01-01", "--json"])
    assert res.exit_code == 1 and json.loads(res.output) == {
        "ok": False, "code": "config_error", "status": 400,
        "error": "The start parameter must be before end. Got 2026-02-01 00:00:00 and 2026-01-01 00:00:00 instead."}
    missing = runner.invoke(app, ["kpis", "--store", str(tmp_path / "nope.duckdb"), "--json"])
    assert missing.exit_code == 1 and json.loads(missing.output)["code"] == "store_not_found"
