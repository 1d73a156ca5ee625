"""`journeymine report` on a small simulated store file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app
from journeymine.report._build import PARTS

runner = CliRunner()


def test_report_writes_the_html_and_lists_its_sections(tmp_path):
    path, html = tmp_path / "sim.duckdb", tmp_path / "out" / "report.html"
    html.parent.mkdir()
    jm.simulate(customers=1_500, days=60, seed=3, store=path).store.close()
    res = runner.invoke(app, ["report", "--store", str(path), "--out", str(html), "--change", "2026-02-19",
                              "--title", "Shop", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["ok"] is True and d["path"] == str(html)
    assert [s["id"] for s in d["sections"]] == [p.id for p in PARTS]
    text = html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>Shop</title>" in text
    for s in d["sections"]:
        assert f'<section id="{s["id"]}" data-rows="{s["rows"]}">' in text
    assert {s["id"] for s in d["sections"] if s["rows"] > 0} >= {"kpis", "funnel", "p2j", "process-map", "variants"}
    res = runner.invoke(app, ["report", "--store", str(path), "--out", str(tmp_path / "r2.html")])
    assert res.exit_code == 0, res.output
    assert "Wrote" in res.output and "No change date given" in res.output
    assert (tmp_path / "r2.html").read_text(encoding="utf-8").count("<section ") == len(PARTS)


def test_report_errors_are_one_line_and_json(tmp_path):
    res = runner.invoke(app, ["report", "--store", str(tmp_path / "none.duckdb"), "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "store_not_found"
    path = tmp_path / "sim.duckdb"
    jm.simulate(customers=200, days=20, seed=1, store=path).store.close()
    res = runner.invoke(app, ["report", "--store", str(path), "--change", "later", "--json",
                              "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
    assert not (tmp_path / "r.html").exists()
    res = runner.invoke(app, ["report", "--store", str(path), "--change", "2026-01-15", "--exclude", "2026-01-08",
                              "--json", "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 1 and json.loads(res.output)["error"].startswith("An --exclude is START..END")


def test_report_leaves_the_excluded_period_out_of_p2j(tmp_path):
    path = tmp_path / "sim.duckdb"
    jm.simulate(customers=1_500, days=60, seed=3, store=path).store.close()
    args = ["report", "--store", str(path), "--change", "2026-02-19", "--json", "--out", str(tmp_path / "r.html")]
    res = runner.invoke(app, [*args, "--exclude", "2026-01-25..2026-02-01"])
    assert res.exit_code == 0, res.output
    kpi = jm.duration_between("order", "order placed", "delivered")
    with jm.connect(path, read_only=True) as s:
        left = jm.impact(s, kpi, "2026-02-19", exclude=[("2026-01-25", "2026-02-01")], bootstrap=200)
        whole = jm.impact(s, kpi, "2026-02-19", bootstrap=200)
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert left.before_units < whole.before_units and f"{left.before_units:,}" in text
