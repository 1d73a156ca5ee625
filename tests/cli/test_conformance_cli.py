"""`journeymine conformance` on a store file: a model file or the top variants, table and JSON output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()
EXAMPLE = "docs/examples/order-model.toml"


def _store(tmp_path):
    path = tmp_path / "shop.duckdb"
    jm.simulate(customers=800, days=30, seed=2, store=path).store.close()
    return path


def test_conformance_with_a_model_file(tmp_path):
    path = _store(tmp_path)
    res = runner.invoke(app, ["conformance", "--store", str(path), "--object-type", "order", "--model", EXAMPLE, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["ok"] and d["object_type"] == "order" and 0 < d["fitting"] < d["cases"]
    assert d["fitness"] == d["fitting"] / d["cases"] and d["fitness_low"] < d["fitness"] < d["fitness_high"]
    assert d["model"]["name"].startswith("orders") and d["violations"][0]["cases"] >= d["violations"][-1]["cases"]
    assert sum(p["cases"] for p in d["over_time"]) == d["cases"]
    assert d["throughput"]["fitting"]["cases"] == d["fitting"] and len(d["deviating_examples"]) == 10
    res = runner.invoke(app, ["conformance", "--store", str(path), "-t", "order", "--model", EXAMPLE, "--period", "month"])
    assert res.exit_code == 0, res.output
    assert f"{d['fitting']:,} of {d['cases']:,} order cases fit" in res.output
    assert d["violations"][0]["constraint"] in res.output and "Fitness by month" in res.output


def test_conformance_with_top_variants_and_errors(tmp_path):
    path = _store(tmp_path)
    res = runner.invoke(app, ["conformance", "--store", str(path), "-t", "order", "--top-variants", "3", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["model"]["name"] == "top 3 variants of order" and "rules" not in d["model"]
    with jm.connect(path, read_only=True) as store:
        top = sum(v["cases"] for v in jm.variants(store, "order", top=3).to_dict()["variants"])
    assert d["fitting"] >= top
    for args, words in ((["--model", EXAMPLE, "--top-variants", "3"], "either --model"), ([], "either --model"),
                        (["--model", str(tmp_path / "nope.toml")], "does not exist"),
                        (["--top-variants", "3", "--period", "year"], "period")):
        res = runner.invoke(app, ["conformance", "--store", str(path), "-t", "order", *args, "--json"])
        assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error", res.output
        assert words in json.loads(res.output)["error"]
    res = runner.invoke(app, ["conformance", "--store", str(tmp_path / "none.duckdb"), "--top-variants", "3"])
    assert res.exit_code == 1 and "store_not_found" in res.output
