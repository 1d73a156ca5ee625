"""`journeymine abandonment form|cart`: human and JSON output on a DuckDB file, and a bad parameter."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import journeymine as jm
from journeymine.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("abandon") / "shop.duckdb"
    jm.simulate(customers=400, days=20, seed=3, store=path).store.close()
    return path


def test_form_json_equals_the_library(store_path):
    res = runner.invoke(app, ["abandonment", "form", "--store", str(store_path), "--form", "address", "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    with jm.connect(store_path, read_only=True) as s:
        expected = json.loads(jm.form_abandonment(s, form="address").to_json())
    assert payload["ok"] is True and payload["kind"] == "form" and payload["abandonment"] == expected
    assert [f["field"] for f in payload["abandonment"]["fields"]][:2] == ["email", "name"]


def test_cart_json_takes_the_options(store_path):
    res = runner.invoke(app, ["abandonment", "cart", "--store", str(store_path), "--window", "1h",
                              "--checkout-steps", "checkout address, checkout payment", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)["abandonment"]
    with jm.connect(store_path, read_only=True) as s:
        expected = jm.cart_abandonment(s, window="1h", checkout_steps=["checkout address", "checkout payment"])
    assert d["window_seconds"] == 3600 and [s["name"] for s in d["steps"]] == [
        "added to cart", "checkout address", "checkout payment", "order placed"]
    assert d["abandoned"] == expected.abandoned and d["comebacks"]["returned"] == expected.comebacks.returned


def test_human_output(store_path):
    form = runner.invoke(app, ["abandonment", "form", "--store", str(store_path)])
    assert form.exit_code == 0, form.output
    assert "form attempts" in form.output and "postcode" in form.output and "came back" in form.output
    cart = runner.invoke(app, ["abandonment", "cart", "--store", str(store_path)])
    assert cart.exit_code == 0 and "checkout payment" in cart.output and "left" in cart.output


def test_bad_parameters_are_one_json_error(store_path):
    res = runner.invoke(app, ["abandonment", "form", "--store", str(store_path), "--return-window", "soon", "--json"])
    assert res.exit_code == 1
    err = json.loads(res.output)
    assert err["ok"] is False and err["code"] == "config_error" and "return_window" in err["error"]
    res = runner.invoke(app, ["abandonment", "basket", "--store", str(store_path), "--json"])
    assert res.exit_code == 1 and json.loads(res.output)["code"] == "config_error"
    text = runner.invoke(app, ["abandonment", "cart", "--store", str(store_path), "--window", "0"])
    assert text.exit_code == 1 and "window" in text.output
