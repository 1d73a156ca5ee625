"""Paths and step matrices give identical results on DuckDB and on Spark (the Parquet export), and agree
with counts computed independently in SQL (window functions) on each backend."""

from __future__ import annotations

import pytest

from journeymine.journeys._paths import paths, step_matrix

FIRST_EVENTS = """
SELECT t.name AS event, r.k AS k, count(*) AS n
FROM (SELECT s.type_code AS type_code,
             ROW_NUMBER() OVER (PARTITION BY s.object_code ORDER BY s.time, s.event_code) AS k
      FROM seq s WHERE s.object_type = $t) r
JOIN event_type t ON t.code = r.type_code
WHERE r.k <= 3
GROUP BY t.name, r.k
"""

WITH_ANCHOR = """
SELECT count(DISTINCT s.object_code) AS n
FROM seq s JOIN event_type t ON t.code = s.type_code
WHERE s.object_type = $t AND t.name = $e
"""


@pytest.mark.parametrize("kw", [
    {"anchor": "added to cart", "steps": 4, "top": 4},
    {"anchor": "order placed", "direction": "backward", "steps": 8, "occurrence": "last", "by": "session"},
    {"anchor": {"event": "page viewed", "where": {"page": "/sale"}}, "steps": 3, "top": None,
     "collapse_repeats": True, "exclude": ["email sent"], "start": "2026-01-10", "end": "2026-01-25"},
], ids=["forward", "backward-sessions", "filters"])
def test_paths_are_identical_on_both_backends(sim_backend, sim_reference, kw):
    kw = dict(kw)
    anchor = kw.pop("anchor")
    got, expected = paths(sim_backend, anchor, **kw), paths(sim_reference, anchor, **kw)
    assert got.to_dict() == expected.to_dict()
    assert got.actors.equals(expected.actors) and got.nodes.equals(expected.nodes)
    assert expected.actors_total > 0 and expected.paths.num_rows > 1


def test_step_matrix_is_identical_and_matches_window_functions(sim_backend, sim_reference):
    got, expected = step_matrix(sim_backend, steps=6, top=8), step_matrix(sim_reference, steps=6, top=8)
    assert got.to_dict() == expected.to_dict() and got.to_arrow().equals(expected.to_arrow())
    full = step_matrix(sim_backend, steps=3)
    counts = {(e, c): int(n) for i, e in enumerate(full.events) for c, n in zip(full.columns, full.counts[i])
              if n and e != "(end)"}
    rows = sim_backend.query(FIRST_EVENTS, {"t": "customer"}).to_pylist()
    assert counts == {(r["event"], r["k"]): r["n"] for r in rows}
    anchored = step_matrix(sim_backend, steps=2, anchor="added to cart", before=1)
    with_anchor = sim_backend.query(WITH_ANCHOR, {"t": "customer", "e": "added to cart"}).column("n")[0].as_py()
    assert anchored.actors_total == with_anchor > 0
    assert anchored.to_dict() == step_matrix(sim_reference, steps=2, anchor="added to cart", before=1).to_dict()
