"""Process analytics give identical results on DuckDB and on Spark (the Parquet export)."""

from __future__ import annotations

import pytest

import journeymine as jm


@pytest.mark.parametrize("object_type", ["order", "ticket"])
def test_dfg_variants_and_durations_are_identical(sim_backend, sim_reference, object_type):
    got, expected = jm.discover_dfg(sim_backend, object_type), jm.discover_dfg(sim_reference, object_type)
    assert got.to_dict() == expected.to_dict() and got.edges.equals(expected.edges)
    raw = sim_reference.query("""SELECT count(*) AS n FROM event e JOIN event_object eo ON eo.event_code = e.code
                                 JOIN object o ON o.code = eo.object_code WHERE o.type = $t""",
                              {"t": object_type}).column(0)[0].as_py()
    assert expected.events == raw and sum(expected.start.values()) == expected.cases > 0
    assert sum(e["count"] for e in expected.to_dict()["edges"]) == expected.events - expected.cases
    v_got, v_exp = jm.variants(sim_backend, object_type), jm.variants(sim_reference, object_type)
    assert v_got.to_dict() == v_exp.to_dict() and v_exp.total_cases == expected.cases
    d_got, d_exp = jm.case_durations(sim_backend, object_type), jm.case_durations(sim_reference, object_type)
    assert d_got.to_dict() == d_exp.to_dict() and d_got.table.equals(d_exp.table)


@pytest.mark.parametrize("object_type", ["order", "ticket"])
def test_filtered_views_and_bottlenecks_are_identical(sim_backend, sim_reference, object_type):
    def report(store):
        view = jm.process_view(store, object_type, start="2026-01-10", time_rule="started", min_duration="1m",
                               exclude_activities=["email opened"], case_attributes={"shipping": ["standard",
                                                                                                 "express"]}
                               if object_type == "order" else None)
        return view, jm.bottlenecks(view, by=["warehouse", "case:shipping"], min_instances=2, period="week",
                                    calendar=jm.BusinessHours("Mon-Sat", "06:00", "22:00"))

    (v_got, got), (v_exp, expected) = report(sim_backend), report(sim_reference)
    assert v_got.to_dict() == v_exp.to_dict() and v_got.to_arrow().equals(v_exp.to_arrow())
    assert 0 < v_exp.n_cases < v_exp.total_cases
    assert got.to_dict() == expected.to_dict()
    for name in ("activities", "transitions", "attributes", "over_time"):
        assert getattr(got, name).equals(getattr(expected, name)), name
    assert expected.activities.num_rows > 0


@pytest.mark.spark
def test_lifecycle_attributes_with_a_colon_read_the_same_on_spark(spark, tmp_path):
    """``lifecycle:transition`` (a JSON key with a colon) pairs start and complete on both backends."""
    import pandas as pd

    from journeymine.export._parquet import write_parquet

    rows = [("c1", "a", 0, "start"), ("c1", "a", 30, "complete"), ("c1", "b", 50, "start"), ("c1", "b", 90, "complete"),
            ("c2", "a", 0, "complete"), ("c2", "b", 5, "start"), ("c2", "b", 8, "complete")]
    df = pd.DataFrame({"case": [r[0] for r in rows], "act": [r[1] for r in rows],
                       "ts": pd.to_datetime("2024-01-01") + pd.to_timedelta([r[2] for r in rows], unit="s"),
                       "lifecycle:transition": [r[3] for r in rows]})
    with jm.connect(tmp_path / "s.duckdb") as duck:
        jm.read_frame(df, duck, activity_col="act", timestamp_col="ts", case_col="case",
                      attribute_cols=["lifecycle:transition"])
        expected = jm.bottlenecks(duck)
        write_parquet(duck, tmp_path / "layout")
    with jm.connect_spark(tmp_path / "layout", spark=spark) as s:
        got = jm.bottlenecks(s)
    assert expected.lifecycle and expected.activity("b")["service_total_seconds"] == 40 + 3
    assert got.to_dict() == expected.to_dict()
