"""`journeymine funnel` and `journeymine sessions` on a simulated store file."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()
STEPS = "checkout address,checkout delivery,checkout payment,order placed"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "shop.duckdb"
    jm.simulate(customers=500, days=20, seed=8, store=path).store.close()
    return path


def test_funnel_json_is_the_documented_shape_and_equals_the_library(shop):
    res = runner.invoke(app, ["funnel", "--store", str(shop), "--steps", STEPS, "--window", "1h",
                              "--by", "object:session", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["ok"] is True and d["window_seconds"] == 3600.0 and d["entry"] == "first"
    assert [s["name"] for s in d["steps"]] == STEPS.split(",")
    with jm.connect(shop, read_only=True) as s:
        expected = jm.funnel(s, STEPS.split(","), "1h", by="object:session")
    assert [s["count"] for s in d["steps"]] == [s.count for s in expected.steps]
    assert d["actors_total"] == expected.actors_total and d["ignored_rows"] == expected.ignored_rows


def test_funnel_table_with_a_breakdown(shop):
    res = runner.invoke(app, ["funnel", "--store", str(shop), "--steps", STEPS, "--window", "1h",
                              "--by", "object:session", "--breakdown", "channel"])
    assert res.exit_code == 0, res.output
    assert "4. order" in res.output and "channel = web" in res.output and "Funnel by object:session" in res.output


def test_funnel_bad_parameter_is_one_line_and_json(shop):
    res = runner.invoke(app, ["funnel", "--store", str(shop), "--steps", STEPS, "--entry", "last"])
    assert res.exit_code == 1 and "entry" in res.output and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["funnel", "--store", str(shop), "--steps", " , ", "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"


def test_sessions_summary_and_parquet(shop, tmp_path):
    target = tmp_path / "sessions.parquet"
    res = runner.invoke(app, ["sessions", "--store", str(shop), "--gap", "30m", "--out", str(target), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    table = pq.read_table(target)
    assert d["sessions"] == table.num_rows > d["actors"] > 0 and d["gap_seconds"] == 1800.0
    assert sum(table.column("events").to_pylist()) == d["events"]
