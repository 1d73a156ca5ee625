"""`journeymine priorities` and `journeymine process-costs` on a simulated store file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app
from journeymine.combined._priorities import priorities
from journeymine.processes._costs import process_costs

runner = CliRunner()


def test_priorities_json_table_and_errors(tmp_path):
    path = tmp_path / "sim.duckdb"
    jm.simulate(customers=3_000, days=40, seed=2, store=path).store.close()
    res = runner.invoke(app, ["priorities", "--store", str(path), "--levers", "2", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    with jm.connect(path, read_only=True) as s:
        expected = priorities(s, levers=2).to_dict()
    assert d["ok"] and d["items"] == json.loads(json.dumps(expected["items"]))
    assert [i["kind"] for i in d["items"]].count("lever") == 2 and d["processes"] == ["order", "payment"]
    res = runner.invoke(app, ["priorities", "--store", str(path), "--levers", "1", "--confounder", "customer.segment"])
    assert res.exit_code == 0, res.output
    assert "Priorities" in res.output and "1. " in res.output
    res = runner.invoke(app, ["priorities", "--store", str(path), "--levers", "-1", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
    res = runner.invoke(app, ["priorities", "--store", str(tmp_path / "none.duckdb")])
    assert res.exit_code == 1 and "No store" in res.output


def test_process_costs_json_table_and_errors(tmp_path):
    path = tmp_path / "sim.duckdb"
    jm.simulate(customers=1_000, days=30, seed=3, store=path).store.close()
    res = runner.invoke(app, ["process-costs", "--store", str(path), "--type", "order", "--period", "week",
                              "--at", "2026-01-20", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    with jm.connect(path, read_only=True) as s:
        expected = process_costs(s, "order", period="week", at="2026-01-20")
    assert d["cases"] == expected.cases > 0 and d["contacts_per_case"] == expected.contacts_per_case
    assert len(d["periods"]) == expected.periods.num_rows and d["comparison"][0]["metric"] == "cases"
    res = runner.invoke(app, ["process-costs", "--store", str(path), "--period", "week", "--at", "2026-01-20"])
    assert res.exit_code == 0, res.output
    assert "order cases" in res.output and "Before and after 2026-01-20" in res.output and "Per week" in res.output
    res = runner.invoke(app, ["process-costs", "--store", str(path), "--period", "year", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
