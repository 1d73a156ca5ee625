"""`journeymine explain` on a simulated store file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()
MODEL = Path(__file__).resolve().parents[2] / "docs" / "examples" / "order-model.toml"


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
    args = ["explain", "--store", str(path), "--unit", "order", "--start", "order placed", "--event", "service contact",
            "--process", "order", "--model", str(MODEL), "--top-variants", "3", "--min-support", "20"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    with jm.connect(path, read_only=True) as s:
        direct = jm.explain(s, jm.followed_by("order", "order placed", "service contact", "14d"), process="order",
                            model=jm.read_model(MODEL), top_variants=3, min_support=20)
    d = json.loads(res.output)
    assert d["tested"] == direct.tested and "violation" in direct.findings.column("kind").to_pylist()
    assert [f["detail"] for f in d["findings"]] == [f["detail"] for f in direct.top(len(d["findings"]))]
    assert "variant" in {f["kind"] for f in d["findings"]}
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and ("variant: " in res.output or "violation: " in res.output), res.output
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


def test_impact_with_a_comparison_group(tmp_path):
    path = tmp_path / "sim.duckdb"
    jm.simulate(customers=3_000, days=60, seed=2, store=path,
                effects={"faster_picking": {"warehouses": ["Hamburg", "Munich"]}}).store.close()
    args = ["impact", "--store", str(path), "--at", "2026-02-19", "--unit", "order", "--start", "order placed",
            "--end", "delivered", "--compare", "warehouse=Hamburg, Munich"]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    with jm.connect(path, read_only=True) as s:
        direct = jm.impact(s, jm.duration_between("order", "order placed", "delivered"), "2026-02-19",
                           compare={"warehouse": ["Munich", "Hamburg"]})
    assert d == {"ok": True, **json.loads(direct.to_json())} and d["compare"] == {"warehouse": ["Hamburg", "Munich"]}
    assert d["method"].startswith("difference-in-differences") and d["comparison_after_units"] > 0
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "comparison:" in res.output and "difference-in-differences" in res.output
    for bad in ("warehouse", "warehouse=", "warehouse=Atlantis"):
        res = runner.invoke(app, [*args[:-1], bad, "--json"])
        error = json.loads(res.output)
        assert res.exit_code == 1 and error["code"] == "config_error" and "compare" in error["error"], bad
