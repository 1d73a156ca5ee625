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
    res = runner.invoke(app, ["dfg", "--store", str(path)])
    assert res.exit_code == 0 and "register request" in res.output


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
