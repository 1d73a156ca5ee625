"""KPIs are identical on DuckDB and on Spark (the Parquet export), and their counts are the store's."""

from __future__ import annotations

import pytest

from journeymine.journeys._kpis import kpis


@pytest.mark.parametrize("kw", [
    {"interval": "month"},
    {"segment": "region", "interval": "week", "start": "2026-01-14", "end": "2026-02-01"},
], ids=["months", "weeks-by-region"])
def test_kpis_are_identical_on_both_backends(sim_backend, sim_reference, kw):
    got, expected = kpis(sim_backend, **kw), kpis(sim_reference, **kw)
    assert got.to_dict() == expected.to_dict()
    assert got.to_arrow().equals(expected.to_arrow())
    counts = {r["type"]: r["n"] for r in sim_reference.query(
        "SELECT type, count(*) AS n FROM event WHERE time >= $s AND time < $e GROUP BY type",
        {"s": expected.start, "e": expected.end}).to_pylist()}
    orders = [r for r in expected.rows if r.kpi == "contact_rate" and r.segment == "(all)"]
    assert sum(r.denominator for r in orders) == counts["order placed"] > 0
    assert sum(r.numerator for r in orders) == counts["service contact"] > 0
