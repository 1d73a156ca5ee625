"""`journeymine journey-map` on a simulated store file: the table, JSON equal to the library's, a stage
file in TOML, lanes, and errors at the edge."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app
from journeymine.combined._journey_map import journey_map
from journeymine.results import jsonable

runner = CliRunner()


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "sim.duckdb"
    jm.simulate(customers=800, days=30, seed=3, store=path).store.close()
    return path


def test_json_equals_the_library_and_the_table_renders(path):
    res = runner.invoke(app, ["journey-map", "--store", str(path), "--lanes", "segment", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    with jm.connect(path, read_only=True) as s:
        expected = jsonable(journey_map(s, lanes="segment").to_dict())
    assert d.pop("ok") is True and d == expected
    assert d["lanes"][0] == "all" and len(d["lanes"]) > 1 and d["stages"] and d["process_steps"]
    res = runner.invoke(app, ["journey-map", "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert "Stages" in res.output and "delivery" in res.output and "ticket opened" in res.output and "Emotion" in res.output


def test_stages_from_toml_process_types_and_time_frame(path, tmp_path):
    toml = tmp_path / "stages.toml"
    toml.write_text('browse = ["page viewed", "search"]\npay = ["checkout payment"]\n'
                    'again = { repeat = ["order placed"] }\n', encoding="utf-8")
    res = runner.invoke(app, ["journey-map", "--store", str(path), "--stages", str(toml), "--process", "payment",
                              "--start", "2026-01-10", "--end", "2026-01-20", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["stage_names"] == ["browse", "pay", "again"]
    assert {r["process"] for r in d["process_steps"]} == {"payment"}
    with jm.connect(path, read_only=True) as s:
        expected = journey_map(s, {"browse": ["page viewed", "search"], "pay": ["checkout payment"],
                                   "again": {"repeat": ["order placed"]}}, processes=["payment"],
                               start="2026-01-10", end="2026-01-20")
    assert d["actors"] == expected.actors and d["stages"] == jsonable(expected.to_dict())["stages"]


def test_errors_are_one_line_or_json(path, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('a = ["page viewed"]\nb = ["page viewed"]\n', encoding="utf-8")
    res = runner.invoke(app, ["journey-map", "--store", str(path), "--stages", str(bad), "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
    broken = tmp_path / "broken.toml"
    broken.write_text("a = [", encoding="utf-8")
    res = runner.invoke(app, ["journey-map", "--store", str(path), "--stages", str(broken)])
    assert res.exit_code == 1 and "TOML" in res.output
    res = runner.invoke(app, ["journey-map", "--store", str(path), "--actor", "planet", "--json"])
    assert res.exit_code == 1 and "actor" in json.loads(res.output)["error"]
    res = runner.invoke(app, ["journey-map", "--store", str(tmp_path / "missing.duckdb"), "--json"])
    assert res.exit_code == 1
