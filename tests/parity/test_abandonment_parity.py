"""Form and cart abandonment give identical results on DuckDB and on Spark (the small simulated company),
checked against counts read straight from the store as well."""

from __future__ import annotations

import pytest

import journeymine as jm



CALLS = {
    "form": lambda s: jm.form_abandonment(s),
    "form by customer": lambda s: jm.form_abandonment(s, by="customer", form="address", end="2026-01-30"),
    "cart": lambda s: jm.cart_abandonment(s),
    "cart by derived session": lambda s: jm.cart_abandonment(s, by="session", window="2h"),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_abandonment_is_identical_on_every_backend(name, sim_backend, sim_reference):
    result, expected = CALLS[name](sim_backend), CALLS[name](sim_reference)
    assert result.to_dict() == expected.to_dict()
    assert result.to_arrow().equals(expected.to_arrow())
    assert result.attempt_table.schema == expected.attempt_table.schema
    assert result.attempt_table.equals(expected.attempt_table)


def _count(store, sql: str) -> int:
    return store.query(sql).column(0)[0].as_py()


def test_counts_equal_the_stores_own(sim_backend):
    form, cart = jm.form_abandonment(sim_backend), jm.cart_abandonment(sim_backend)
    assert form.attempts + form.open_attempts == _count(
        sim_backend, "SELECT count(*) AS n FROM event WHERE type = 'form started'")
    assert form.attempts > 50 and form.fields[0].field == "email"
    carts = _count(sim_backend, """SELECT count(DISTINCT eo.object_code) AS n FROM event e
        JOIN event_object eo ON eo.event_code = e.code JOIN object o ON o.code = eo.object_code
        WHERE e.type = 'added to cart' AND o.type = 'session'""")
    assert cart.attempts + cart.open_attempts == carts
    orders = _count(sim_backend, "SELECT count(*) AS n FROM event WHERE type = 'order placed'")
    assert cart.completed <= orders and cart.completed > 0.9 * orders
    f = jm.funnel(sim_backend, [s.name for s in cart.steps], window="24h", by="object:session")
    assert sorted(zip(cart.attempt_table["object_code"].to_pylist(), cart.attempt_table["depth"].to_pylist())) == \
        sorted(zip(f.actors["object_code"].to_pylist(), f.actors["depth"].to_pylist()))
