"""jm.process_view: each filter keeps the cases pm4py's filter of the same meaning keeps (receipt log),
hand-made cases for what pm4py has no filter for, and the analyses read a view like a store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pm4py  # test-only dependency (AGPL): the oracle, never imported by the library
import pytest

import journeymine as jm
from journeymine.errors import ConfigError

DATA = Path(__file__).resolve().parents[2] / "data"
CASE, ACTIVITY, TIME = "case:concept:name", "concept:name", "time:timestamp"


@pytest.fixture(scope="module")
def receipt():
    path = DATA / "receipt" / "receipt.xes.gz"
    raw = pm4py.read_xes(str(path), variant="iterparse", show_progress_bar=False)
    df = pm4py.format_dataframe(raw, case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    with jm.connect(":memory:") as store:
        jm.read_xes(path, store)
        yield store, df


def ours(view: jm.ProcessView) -> tuple[set[str], int]:
    table = view.to_arrow()
    return set(table.column("case_id").to_pylist()), table.num_rows


def theirs(df: pd.DataFrame) -> tuple[set[str], int]:
    return set(df[CASE].astype(str)), len(df)


# Instants between events (pm4py's bounds are inclusive, ours [start, end): equal when no event is on one)
LO, HI = dt.datetime(2011, 6, 1, 0, 0, 0, 1), dt.datetime(2011, 9, 1, 0, 0, 0, 1)


@pytest.mark.parametrize("rule, mode", [("events", "events"), ("contained", "traces_contained"),
                                        ("intersecting", "traces_intersecting")])
def test_time_frame_rules_equal_pm4py(receipt, rule, mode):
    store, df = receipt
    assert not df[TIME].isin([pd.Timestamp(LO, tz="UTC"), pd.Timestamp(HI, tz="UTC")]).any()
    got = ours(jm.process_view(store, start=LO, end=HI, time_rule=rule))
    assert got == theirs(pm4py.filter_time_range(df, LO, HI, mode=mode, case_id_key=CASE, timestamp_key=TIME))
    assert 0 < len(got[0]) < df[CASE].nunique()


def test_started_in_keeps_cases_whose_first_event_is_inside(receipt):
    store, df = receipt
    first = df.groupby(CASE)[TIME].min()
    expected = {str(c) for c, t in first.items() if pd.Timestamp(LO, tz="UTC") <= t < pd.Timestamp(HI, tz="UTC")}
    view = jm.process_view(store, start=LO, end=HI, time_rule="started")
    assert ours(view)[0] == expected and ours(view)[1] == int(df[CASE].astype(str).isin(expected).sum())


def test_start_and_end_activity_filters_equal_pm4py(receipt):
    store, df = receipt
    got = ours(jm.process_view(store, starts_with=["Confirmation of receipt"], ends_with=["T15 Print document X request unlicensed", "T10 Determine necessity to stop indication"]))
    kept = pm4py.filter_start_activities(df, ["Confirmation of receipt"], activity_key=ACTIVITY, case_id_key=CASE,
                                         timestamp_key=TIME)
    kept = pm4py.filter_end_activities(kept, ["T15 Print document X request unlicensed",
                                              "T10 Determine necessity to stop indication"],
                                       activity_key=ACTIVITY, case_id_key=CASE, timestamp_key=TIME)
    assert got == theirs(kept) and got[1] > 0


def test_throughput_time_range_equals_pm4py(receipt):
    store, df = receipt
    got = ours(jm.process_view(store, min_duration="1h", max_duration="7d"))
    expected = pm4py.filter_case_performance(df, 3600, 7 * 86400, case_id_key=CASE, timestamp_key=TIME)
    assert got == theirs(expected) and 0 < len(got[0]) < df[CASE].nunique()


def test_variant_filters_equal_pm4py(receipt):
    store, df = receipt
    top = jm.variants(store, top=3).counts()
    got = ours(jm.process_view(store, variants=list(top)))
    # (pm4py 2.7.23 builds its variants with pandas' Arrow strings into a list column that pandas 3
    # cannot ``isin``; with the activity column as Python objects it works)
    plain = df.astype({ACTIVITY: object})
    assert got == theirs(pm4py.filter_variants(plain, list(top), activity_key=ACTIVITY, case_id_key=CASE,
                                               timestamp_key=TIME))
    assert got == ours(jm.process_view(store, top_variants=3)) and len(got[0]) == sum(top.values())


def test_activity_projection_equals_pm4py(receipt):
    store, df = receipt
    keep = ["Confirmation of receipt", "T02 Check confirmation of receipt", "T04 Determine confirmation of receipt"]
    kept = pm4py.filter_event_attribute_values(df, ACTIVITY, keep, level="event", retain=True, case_id_key=CASE)
    assert ours(jm.process_view(store, activities=keep)) == theirs(kept)
    dropped = pm4py.filter_event_attribute_values(df, ACTIVITY, keep, level="event", retain=False, case_id_key=CASE)
    assert ours(jm.process_view(store, exclude_activities=keep)) == theirs(dropped)


def test_case_attribute_filter_equals_pm4py(receipt):
    store, df = receipt
    got = ours(jm.process_view(store, case_attributes={"channel": ["Desk", "e-mail"]}))
    expected = pm4py.filter_trace_attribute_values(df, "case:channel", ["Desk", "e-mail"], retain=True,
                                                   case_id_key=CASE)
    assert got == theirs(expected) and got[1] > 0


def test_filters_chain_and_apply_in_the_documented_order(receipt):
    store, _ = receipt
    once = jm.process_view(store, top_variants=1, activities=["Confirmation of receipt"])
    chained = jm.process_view(jm.process_view(store, top_variants=1), activities=["Confirmation of receipt"])
    assert ours(once) == ours(chained) and once.filters == chained.filters
    assert once.total_cases == 1434 and once.to_dict()["filters"]["top_variants"] == 1
    # the analyses read a view as they read the store, without going back to it
    assert jm.discover_dfg(once).activities == {"Confirmation of receipt": once.n_cases}
    assert jm.case_durations(once).cases == jm.variants(once).total_cases == once.n_cases


def test_cases_by_id_or_segment():
    store = jm.connect(":memory:")
    df = pd.DataFrame({"case": ["a", "a", "b", "c"], "act": ["x", "y", "x", "y"],
                       "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"])})
    jm.read_frame(df, store, activity_col="act", timestamp_col="ts", case_col="case")
    assert ours(jm.process_view(store, cases=["a", "c", "zz"])) == ({"a", "c"}, 3)
    codes = store.query("SELECT code FROM object WHERE id = 'b'").column(0).to_numpy()
    assert ours(jm.process_view(store, cases=jm.Segment("picked", "case", codes))) == ({"b"}, 1)
    with pytest.raises(ConfigError, match="cases"):
        jm.process_view(store, cases=jm.Segment("other", "customer", codes))


@pytest.mark.parametrize("kwargs, field", [
    ({"time_rule": "overlapping"}, "time_rule"), ({"top_variants": 0}, "top_variants"),
    ({"starts_with": [1]}, "starts_with"), ({"case_attributes": ["x"]}, "case_attributes"),
    ({"min_duration": "soon"}, "min_duration"), ({"variants": "abc"}, "variants"), ({"start": "May"}, "start"),
])
def test_bad_filters_name_the_field(kwargs, field):
    store = jm.connect(":memory:")
    with pytest.raises(ConfigError, match=field) as e:
        jm.process_view(store, **kwargs)
    assert e.value.context["field"] == field
