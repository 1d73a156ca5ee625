"""The CLI: thin over the facade, --json everywhere, one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journeymine.cli import app

DATA = Path(__file__).resolve().parent.parent / "data"  # tests/data
runner = CliRunner()

CSV_ARGS = ["--activity-col", "activity", "--timestamp-col", "timestamp", "--id-col", "event_id",
            "--object", "customer=customer", "--object", "order=order"]


def _json(result) -> dict:
    assert result.output.strip(), result.output
    return json.loads(result.output)


def test_import_info_quarantine_json(tmp_path):
    store = str(tmp_path / "s.duckdb")
    res = runner.invoke(app, ["import", str(DATA / "planted_bad.csv"), "--store", store, *CSV_ARGS, "--json"])
    assert res.exit_code == 0, res.output
    report = _json(res)["report"]
    assert report["events_imported"] == 4 and report["refused"] == 4
    info = _json(runner.invoke(app, ["info", "--store", store, "--json"]))
    assert info["ok"] is True and info["info"]["events"] == 4
    assert info["info"]["objects_by_type"] == {"customer": 3, "order": 2}
    refused = _json(runner.invoke(app, ["quarantine", "--store", store, "--json"]))["refused"]
    assert sorted(r["position"] for r in refused) == ["row 3", "row 4", "row 5", "row 7"]


def test_text_output_names_counts(tmp_path):
    store = str(tmp_path / "s.duckdb")
    res = runner.invoke(app, ["import", str(DATA / "planted_bad.csv"), "--store", store, *CSV_ARGS])
    assert res.exit_code == 0 and "4 events" in res.output and "4 refused" in res.output
    res = runner.invoke(app, ["quarantine", "--store", store])
    assert "unparsable timestamp '2024-13-45'" in res.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["info", "--store", "{tmp}/missing.duckdb"], "store_not_found"),
        (["import", "{tmp}/nothing.csv", "--store", "{tmp}/s.duckdb", *CSV_ARGS], "source_not_found"),
        (["import", str(DATA / "planted_bad.csv"), "--store", "{tmp}/s.duckdb"], "config_error"),
        (["import", str(DATA / "planted_bad.csv"), "--store", "{tmp}/s.duckdb", "--activity-col", "nope",
          "--timestamp-col", "timestamp", "--customer-col", "customer"], "mapping_error"),
        (["import", "{tmp}/x.unknown", "--store", "{tmp}/s.duckdb"], "config_error"),
        (["export", "--store", "{tmp}/s.duckdb", "--format", "pdf", "--out", "{tmp}/o"], "config_error"),
    ],
)
def test_errors_are_one_line_and_json_shaped(tmp_path, args, code):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 1
    payload = _json(res)
    assert payload["ok"] is False and payload["code"] == code and payload["error"] and payload["status"] >= 400
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and res.output.count("\n") == 1 and f"({code})" in res.output


def test_console_script_runs_as_a_real_process(tmp_path):
    exe = Path(sys.executable).with_name("journeymine")
    store = tmp_path / "s.duckdb"
    done = subprocess.run(
        [str(exe), "import", str(DATA / "planted_bad.csv"), "--store", str(store), *CSV_ARGS, "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["report"]["events_imported"] == 4
    done = subprocess.run([str(exe), "info", "--store", str(tmp_path / "none.duckdb")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.strip().startswith("error (store_not_found)")


def test_ocel_import_and_export_round_trip_through_the_cli(tmp_path):
    example = DATA.parent.parent / "data" / "ocel2-example" / "ocel20_example.xmlocel"
    store, out = str(tmp_path / "s.duckdb"), tmp_path / "out.jsonocel"
    res = runner.invoke(app, ["import", str(example), "--store", store, "--timezone", "Europe/Amsterdam", "--json"])
    assert res.exit_code == 0, res.output
    assert _json(res)["report"]["events_imported"] == 13
    res = runner.invoke(app, ["export", "--store", store, "--format", "ocel-json", "--out", str(out), "--json"])
    assert res.exit_code == 0 and out.exists()
    again = str(tmp_path / "again.duckdb")
    assert _json(runner.invoke(app, ["import", str(out), "--store", again, "--json"]))["report"]["events_imported"] == 13
    first = _json(runner.invoke(app, ["info", "--store", store, "--json"]))["info"]
    second = _json(runner.invoke(app, ["info", "--store", again, "--json"]))["info"]
    assert first["first_event"] == second["first_event"] == "2022-01-09T14:00:00"
    assert first["objects_by_type"] == second["objects_by_type"]


def test_xes_and_parquet_export_through_the_cli(tmp_path):
    log = DATA.parent.parent / "data" / "running-example" / "running-example.xes"
    store = str(tmp_path / "s.duckdb")
    assert runner.invoke(app, ["import", str(log), "--store", store]).exit_code == 0
    res = runner.invoke(app, ["export", "--store", store, "--format", "xes", "--out", str(tmp_path / "o.xes.gz")])
    assert res.exit_code == 0 and (tmp_path / "o.xes.gz").stat().st_size > 0
    res = runner.invoke(app, ["export", "--store", store, "--format", "parquet", "--out", str(tmp_path / "pq")])
    assert res.exit_code == 0 and (tmp_path / "pq" / "_journeymine.json").exists()
