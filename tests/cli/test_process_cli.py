"""`journeymine dfg`, `variants` and `durations` on a store file."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()


def _store(tmp_path):
    path = tmp_path / "log.duckdb"
    with jm.connect(path) as store:
        jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
                    timestamp_col="time:timestamp", case_col="case:concept:name")
    return path


def test_dfg_json_has_the_documented_shape(tmp_path):
    path = _store(tmp_path)
    res = runner.invoke(app, ["dfg", "--store", str(path), "--object-type", "case", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["object_type"] == "case" and d["start"] == {"register request": 6}
    assert set(d["edges"][0]) >= {"source", "target", "count", "cases", "mean_seconds", "median_seconds"}
    assert sum(e["count"] for e in d["edges"]) == 42 - 6
    res = runner.invoke(app, ["dfg", "--store", str(path), "--svg", str(tmp_path / "map.svg"), "--measure",
                              "performance"])
    assert res.exit_code == 0 and "register request" in res.output
    assert (tmp_path / "map.svg").read_text(encoding="utf-8").startswith("<svg") and "register request" in (
        tmp_path / "map.svg").read_text(encoding="utf-8")


def test_variants_and_durations(tmp_path):
    path = _store(tmp_path)
    res = runner.invoke(app, ["variants", "--store", str(path), "--top", "2", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["total_variants"] == 6 and len(d["variants"]) == 2
    res = runner.invoke(app, ["durations", "--store", str(path), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["cases"] == 6
    res = runner.invoke(app, ["variants", "--store", str(path), "--coverage", "2", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"


def test_bottlenecks_json_and_table(tmp_path):
    path = _store(tmp_path)
    res = runner.invoke(app, ["bottlenecks", "--store", str(path), "--by", "org:resource", "--min-instances", "2",
                              "--calendar", "Mon-Fri 09:00-17:00", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["cases"] == 6 and d["calendar"]["weekdays"] == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    totals = [a["waiting_total_seconds"] for a in d["activities"]]
    assert totals == sorted(totals, reverse=True) and d["attributes"]
    # working time only: less waiting than the elapsed time the calendar-free report counts
    with jm.connect(path, read_only=True) as s:
        elapsed = jm.bottlenecks(s).activities.column("waiting_total_seconds").to_pylist()
    assert 0 < sum(totals) < sum(elapsed)
    res = runner.invoke(app, ["bottlenecks", "--store", str(path)])
    assert res.exit_code == 0 and "Where cases wait" in res.output and "decide" in res.output
    res = runner.invoke(app, ["bottlenecks", "--store", str(path), "--calendar", "weekdays", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
