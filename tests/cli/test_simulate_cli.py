"""`journeymine simulate` and `journeymine demo`: new store, truth beside it, overview, clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()


def test_simulate_writes_store_and_truth(tmp_path):
    store = tmp_path / "co.duckdb"
    args = ["simulate", "--store", str(store), "--customers", "800", "--days", "20", "--seed", "4"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    sim = json.loads(res.output)["simulation"]
    assert sim["events"] > 10_000 and sim["stitched"] > 0
    assert {e["effect"] for e in sim["effects"]} >= {"slow_payment", "late_delivery", "null_fraud_check"}
    truth = json.loads((tmp_path / "co.truth" / "truth.json").read_text())
    assert truth["parameters"]["seed"] == 4 and truth["effects"]
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 1 and json.loads(again.output)["code"] == "config_error"
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_simulate_bad_effects_file_is_one_line(tmp_path):
    bad = tmp_path / "fx.toml"
    bad.write_text("[slow_payment]\nthreshold = 3\n")
    res = runner.invoke(app, ["simulate", "--store", str(tmp_path / "x.duckdb"), "--customers", "100",
                              "--effects", str(bad)])
    assert res.exit_code == 1
    assert "slow_payment.threshold" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.duckdb").exists()  # refused before anything was written


def test_demo_prints_an_overview(tmp_path):
    store = tmp_path / "demo.duckdb"
    res = runner.invoke(app, ["demo", "--store", str(store), "--customers", "1500", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    overview = d["overview"]
    assert 0.01 < overview["session_conversion"] < 0.06 and overview["orders"] > 50
    assert d["report"] == str(tmp_path / "demo.html") and (tmp_path / "demo.html").exists()
    html = (tmp_path / "demo.html").read_text()
    assert all(f'id="{s}"' in html for s in ("kpis", "priorities", "journey-map", "j2p", "p2j", "process-map"))
    with jm.connect(store, read_only=True) as s:
        ranked = jm.priorities(s)
    pains = [r["evidence"] for r in ranked.items.to_pylist() if r["kind"] == "pain"]
    assert d["findings"][:len(pains[:3])] == pains[:3]
    assert any("Since the process change on 2026-02-19" in line for line in d["findings"])
    text = runner.invoke(app, ["demo", "--store", str(store), "--customers", "1500", "--report", str(tmp_path / "r.html")])
    assert text.exit_code == 0 and "session conversion" in text.output and "NPS" in text.output
    assert "Top findings" in text.output and "Report: " in text.output and (tmp_path / "r.html").exists()
