"""`journeymine explain` on a simulated store file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()


def test_explain_followed_by_and_dropped_after(tmp_path):
    path = tmp_path / "sim.duckdb"
    jm.simulate(customers=3_000, days=40, seed=2, store=path).store.close()
    res = runner.invoke(app, ["explain", "--store", str(path), "--unit", "order", "--start", "order placed",
                              "--event", "service contact", "--within", "14d", "--process", "order",
                              "--attribute", "shipping", "--min-support", "20", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["object_type"] == "order" and d["units"] > 0 and d["tested"] > 0 and d["findings"]
    res = runner.invoke(app, ["explain", "--store", str(path), "--steps",
                              "checkout payment,payment verification completed,order placed", "--step", "2",
                              "--process", "payment", "--threshold", "payment verification completed=2m"])
    assert res.exit_code == 0, res.output
    assert "payment verification completed" in res.output and "Findings" in res.output
    res = runner.invoke(app, ["explain", "--store", str(path), "--unit", "order", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
    res = runner.invoke(app, ["explain", "--store", str(path), "--json"])
    assert res.exit_code == 1 and "either" in json.loads(res.output)["error"]


def test_impact_rate_and_duration(tmp_path):
    path = tmp_path / "sim.duckdb"
    jm.simulate(customers=3_000, days=60, seed=2, store=path).store.close()
    res = runner.invoke(app, ["impact", "--store", str(path), "--at", "2026-02-19", "--unit", "order", "--start",
                              "order placed", "--event", "service contact", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["before_units"] > 0 and d["after_units"] > 0 and d["low"] <= d["estimate"] <= d["high"]
    res = runner.invoke(app, ["impact", "--store", str(path), "--at", "2026-02-19", "--unit", "order", "--start",
                              "order placed", "--end", "delivered"])
    assert res.exit_code == 0 and "change at 2026-02-19" in res.output
    res = runner.invoke(app, ["impact", "--store", str(path), "--at", "2026-02-19", "--unit", "order", "--start",
                              "order placed", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
