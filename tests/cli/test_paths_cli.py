"""`journeymine paths` and `journeymine step-matrix`: human and --json output, and one-line errors."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("paths") / "s.duckdb"
    rows = [("u1", "home", 0), ("u1", "cart", 1), ("u1", "buy", 2), ("u2", "home", 0), ("u2", "help", 1),
            ("u3", "home", 0), ("u3", "cart", 1)]
    df = pd.DataFrame({"who": [r[0] for r in rows], "what": [r[1] for r in rows],
                       "at": [dt.datetime(2024, 1, 1) + dt.timedelta(minutes=r[2]) for r in rows]})
    with jm.connect(path) as s:
        jm.read_frame(df, s, activity_col="what", timestamp_col="at", customer_col="who")
    return str(path)


def test_paths_json_and_text(store_file):
    res = runner.invoke(app, ["paths", "--store", store_file, "--anchor", "home", "--steps", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["ok"] is True and out["paths"]["actors_total"] == 3
    assert {p["path"]: p["actors"] for p in out["paths"]["paths"]} == {
        "home → cart → (end)": 1, "home → cart → buy": 1, "home → help → (end)": 1}
    assert {(n["step"], n["event"]): n["actors"] for n in out["paths"]["nodes"]}[(1, "cart")] == 2
    text = runner.invoke(app, ["paths", "--store", store_file, "--anchor", "buy", "--direction", "backward",
                               "--top", "1"])
    assert text.exit_code == 0, text.output
    assert "1 of 3 customers have 'buy'" in text.output and "(start) → home → cart → buy" in text.output


def test_step_matrix_json_and_text(store_file):
    res = runner.invoke(app, ["step-matrix", "--store", store_file, "--steps", "3", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["event"]: r["actors"] for r in json.loads(res.output)["step_matrix"]["rows"]}
    assert rows == {"home": [3, 0, 0], "cart": [0, 2, 0], "buy": [0, 0, 1], "help": [0, 1, 0], "(end)": [0, 0, 2]}
    text = runner.invoke(app, ["step-matrix", "--store", store_file, "--steps", "3", "--anchor", "home"])
    assert text.exit_code == 0 and "after 'home'" in text.output and "66.7%" in text.output


def test_bad_parameters_exit_1_with_the_error_shape(store_file):
    res = runner.invoke(app, ["paths", "--store", store_file, "--anchor", "home", "--direction", "up", "--json"])
    assert res.exit_code == 1
    assert json.loads(res.output) == {"ok": False, "code": "config_error", "status": 400, "error": (
        "The direction parameter must be one of ['forward', 'backward']. Got 'up' instead.")}
    res = runner.invoke(app, ["step-matrix", "--store", store_file, "--before", "2"])
    assert res.exit_code == 1 and "before" in res.output and len(res.output.strip().splitlines()) == 1
    missing = runner.invoke(app, ["step-matrix", "--store", store_file + ".nope", "--json"])
    assert missing.exit_code == 1 and json.loads(missing.output)["code"] == "store_not_found"
