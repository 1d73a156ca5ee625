"""kpis: a hand-made store whose every KPI is known, an independent pandas recomputation of every KPI
(whole store, a sub-period, a segment, weeks) on the small simulated company, agreement with
jm.overview, interval splits that add up, and the edges (no data, bad parameters, actors)."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.journeys._kpis import KPIS, kpis
from journeymine.results import Segment

FEB, MAR = dt.datetime(2024, 2, 1), dt.datetime(2024, 3, 1)


# -- a hand-checkable store ------------------------------------------------------------------------------
def hand_store() -> jm.Store:
    """c1, c2 north, c3 south, c4 without region. January: c1 and c2 order. February: c1 orders twice
    (sessions s3, s4), c3 once (s6), c2 (s5) and c4 (s7) only browse; 3 contacts, NPS 10, 9, 3, 7,
    CSAT 4, 2. March: c2 orders."""
    rows = [  # customer, session, activity, day, value, survey, score
        ("c1", "s1", "page viewed", "2024-01-10", None, None, None),
        ("c1", "s1", "order placed", "2024-01-10", 100, None, None),
        ("c2", "s2", "order placed", "2024-01-20", 50, None, None),
        ("c1", "s3", "page viewed", "2024-02-03", None, None, None),
        ("c1", "s3", "order placed", "2024-02-03", 30, None, None),
        ("c1", "s4", "order placed", "2024-02-10", 70, None, None),
        ("c2", "s5", "page viewed", "2024-02-05", None, None, None),
        ("c3", "s6", "page viewed", "2024-02-06", None, None, None),
        ("c3", "s6", "order placed", "2024-02-06", 20, None, None),
        ("c1", None, "service contact", "2024-02-11", None, None, None),
        ("c3", None, "service contact", "2024-02-12", None, None, None),
        ("c3", None, "service contact", "2024-02-13", None, None, None),
        ("c1", None, "survey answered", "2024-02-14", None, "nps", 10),
        ("c2", None, "survey answered", "2024-02-14", None, "nps", 9),
        ("c3", None, "survey answered", "2024-02-15", None, "nps", 3),
        ("c3", None, "survey answered", "2024-02-16", None, "nps", 7),
        ("c2", None, "survey answered", "2024-02-17", None, "csat", 4),
        ("c3", None, "survey answered", "2024-02-17", None, "csat", 2),
        ("c4", "s7", "page viewed", "2024-02-20", None, None, None),
        ("c2", "s8", "order placed", "2024-03-02", 40, None, None),
    ]
    region = {"c1": "north", "c2": "north", "c3": "south", "c4": None}
    df = pd.DataFrame({
        "customer": [r[0] for r in rows], "session": [r[1] for r in rows], "activity": [r[2] for r in rows],
        "ts": [r[3] + "T12:00:00" for r in rows], "value": [r[4] for r in rows], "survey": [r[5] for r in rows],
        "score": [r[6] for r in rows], "region": [region[r[0]] for r in rows]})
    store = jm.connect(":memory:")
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", customer_col="customer",
                  objects={"session": "session"}, attribute_cols=["value", "survey", "score"],
                  object_attribute_cols={"customer": ["region"]})
    return store


def values(result, segment="(all)", period=0) -> dict[str, tuple]:
    return {k: (result.row(k, segment, period).value, result.row(k, segment, period).numerator,
                result.row(k, segment, period).denominator) for k in KPIS}


def test_every_kpi_of_a_hand_made_store():
    k = kpis(hand_store(), start=FEB, end=MAR)
    assert values(k) == {
        "session_conversion": (3 / 5, 3, 5), "customer_conversion": (2 / 4, 2, 4),
        "repeat_purchase_rate": (1 / 2, 1, 2),
        "retention_rate": (1 / 2, 1, 2),  # previous period Jan 3 - Feb 1: c1 and c2 ordered, c1 again
        "average_order_value": (40.0, 120, 3), "purchase_frequency": (1.5, 3, 2),
        "contact_rate": (100.0, 3, 3), "nps": (25.0, 1, 4), "csat": (3.0, 6, 2)}
    low, high = k.row("customer_conversion").low, k.row("customer_conversion").high
    assert (low, high) == pytest.approx(jm.journeys._stats.wilson(2, 4))
    nps = k.row("nps")  # shares 1/2 and 1/4: variance (3/4 - 1/16) / 4; clipped at 100
    z = 1.959963984540054
    assert nps.high == 100.0 and nps.value - nps.low == pytest.approx(100 * z * math.sqrt((0.75 - 0.0625) / 4))
    csat = k.row("csat")  # scores 4 and 2: sd sqrt(2), half-width z * sqrt(2) / sqrt(2)
    assert (csat.low, csat.high) == pytest.approx((3 - z, 3 + z))
    assert k.row("contact_rate").low is None and k.row("purchase_frequency").high is None
    assert "'order placed' event" in k.row("customer_conversion").definition


def test_segments_of_the_hand_made_store():
    k = kpis(hand_store(), start=FEB, end=MAR, segment="region")
    assert sorted({r.segment for r in k.rows}) == ["(all)", "(none)", "north", "south"]
    assert values(k, "north") == {
        "session_conversion": (2 / 3, 2, 3), "customer_conversion": (1 / 2, 1, 2),
        "repeat_purchase_rate": (1.0, 1, 1), "retention_rate": (1 / 2, 1, 2),
        "average_order_value": (50.0, 100, 2), "purchase_frequency": (2.0, 2, 1),
        "contact_rate": (50.0, 1, 2), "nps": (100.0, 2, 2), "csat": (4.0, 4, 1)}
    assert values(k, "south") == {
        "session_conversion": (1.0, 1, 1), "customer_conversion": (1.0, 1, 1),
        "repeat_purchase_rate": (0.0, 0, 1), "retention_rate": (None, 0, 0),
        "average_order_value": (20.0, 20, 1), "purchase_frequency": (1.0, 1, 1),
        "contact_rate": (200.0, 2, 1), "nps": (-50.0, -1, 2), "csat": (2.0, 2, 1)}
    assert values(k, "(none)")["session_conversion"] == (0.0, 0, 1)
    assert values(k) == values(kpis(hand_store(), start=FEB, end=MAR))  # (all) adds the segments up


def test_months_of_the_hand_made_store():
    k = kpis(hand_store(), interval="month")
    assert [r.period_start.month for r in k.rows if r.kpi == "nps"] == [1, 2, 3]
    retention = [k.row("retention_rate", period=i) for i in range(3)]
    # January: nobody ordered in December; February: c1 of c1, c2; March: neither c1 nor c3
    assert [(r.numerator, r.denominator) for r in retention] == [(0, 0), (1, 2), (0, 2)]
    assert retention[0].value is None
    assert k.row("average_order_value", period=2).value == 40.0
    assert k.rows[0].period_start == dt.datetime(2024, 1, 10, 12) and k.end == dt.datetime(2024, 3, 2, 12) + \
        dt.timedelta(microseconds=1)


# -- an independent recomputation in pandas ----------------------------------------------------------------
def raw(store: jm.Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events, and (event, canonical object, object type, region, segment) links, from the raw tables only."""
    events = store.query("""SELECT code, type, time, json_extract_string(attributes, '$.value') AS value,
                                   json_extract_string(attributes, '$.survey') AS survey,
                                   json_extract_string(attributes, '$.score') AS score FROM event""").to_pandas()
    links = store.query("SELECT event_code, object_code FROM event_object").to_pandas()
    alias = dict(store.query("SELECT source_code, target_code FROM alias").to_pandas().values.tolist())
    objects = store.query("""SELECT code, type, json_extract_string(attributes, '$.region') AS region,
                                    json_extract_string(attributes, '$.segment') AS segment
                             FROM object""").to_pandas().set_index("code")
    links["object_code"] = links["object_code"].map(lambda c: alias.get(c, c))
    links = links.drop_duplicates()
    links = links.join(objects, on="object_code").merge(events[["code", "type", "time"]].rename(
        columns={"code": "event_code", "type": "activity"}), on="event_code")
    return events, links


def reference(events, links, start, end, prev_start, segment=None) -> dict[str, dict[str, tuple]]:
    """Every KPI by the customer attribute ``segment`` (or '(all)'), straight from the definitions."""
    inside = links[(links.time >= start) & (links.time < end)]
    cust = inside[inside.type == "customer"]
    owner = cust.groupby("event_code").object_code.min()
    region = links[links.type == "customer"].drop_duplicates("object_code").set_index("object_code")[segment or "type"]

    def group(codes: pd.Series) -> pd.Series:
        return codes.map(region).fillna("(none)") if segment else codes.map(lambda c: "(all)")

    sess = inside[inside.type == "session"]
    sess_owner = sess.merge(cust[["event_code", "object_code"]].rename(columns={"object_code": "c"}), on="event_code")
    sess_owner = sess_owner.groupby("object_code").c.min()
    sessions = sess.groupby("object_code").activity.apply(lambda a: (a == "order placed").any()).to_frame("conv")
    sessions["g"] = group(sessions.index.to_series().map(sess_owner)).values
    per_c = cust.groupby("object_code").activity.apply(lambda a: int((a == "order placed").sum())).to_frame("orders")
    per_c["g"] = group(per_c.index.to_series()).values
    before = links[(links.time >= prev_start) & (links.time < start) & (links.type == "customer")
                   & (links.activity == "order placed")].object_code.unique()
    ev = events[(events.time >= start) & (events.time < end)].copy()
    ev["g"] = group(ev.code.map(owner)).values
    out = {}
    for g in sorted(set(per_c.g) | set(sessions.g) | set(ev.g)):
        s, c, e = sessions[sessions.g == g], per_c[per_c.g == g], ev[ev.g == g]
        buyers = c[c.orders > 0]
        prev = [x for x in before if group(pd.Series([x])).iloc[0] == g]
        orders = e[e.type == "order placed"]
        nps = e[(e.type == "survey answered") & (e.survey == "nps")].score.astype(float)
        csat = e[(e.type == "survey answered") & (e.survey == "csat")].score.astype(float)

        def ratio(num, den, times=1):
            return (times * num / den if den else None), num, den
        out[g] = {
            "session_conversion": ratio(int(s.conv.sum()), len(s)),
            "customer_conversion": ratio(len(buyers), len(c)),
            "repeat_purchase_rate": ratio(int((c.orders > 1).sum()), len(buyers)),
            "retention_rate": ratio(len(set(prev) & set(buyers.index)), len(prev)),
            "average_order_value": ratio(orders.value.astype(float).sum(), len(orders)),
            "purchase_frequency": ratio(int(buyers.orders.sum()), len(buyers)),
            "contact_rate": ratio(int((e.type == "service contact").sum()), len(orders), 100),
            "nps": ratio(int((nps >= 9).sum() - (nps <= 6).sum()), len(nps), 100),
            "csat": ratio(csat.sum(), len(csat)),
        }
    return out


def assert_matches(result, expected, period=0):
    for g, kpi_values in expected.items():
        for kpi, (value, num, den) in kpi_values.items():
            row = result.row(kpi, g, period)
            assert (row.numerator, row.denominator) == (pytest.approx(num), den), (g, kpi)
            assert row.value == (None if value is None else pytest.approx(value)), (g, kpi)


@pytest.fixture(scope="module")
def small_raw(small):
    return raw(small.store)


def test_the_whole_store_matches_pandas(small, small_raw):
    k = kpis(small.store)
    assert_matches(k, reference(*small_raw, k.start, k.end, k.start - (k.end - k.start)))
    assert k.row("retention_rate").value is None  # the store has nothing before its first event


def test_a_sub_period_by_region_matches_pandas(small, small_raw):
    start, end = dt.datetime(2026, 1, 15), dt.datetime(2026, 1, 29)
    k = kpis(small.store, start=start, end=end, segment="region")
    expected = reference(*small_raw, start, end, start - (end - start), segment="region")
    assert set(expected) == {"(none)", "east", "north", "south", "west"}
    assert expected["north"]["retention_rate"][2] > 5  # retention has a real previous period here
    assert_matches(k, expected)
    assert_matches(k, reference(*small_raw, start, end, start - (end - start)))


def test_weeks_match_pandas_and_add_up(small, small_raw):
    k = kpis(small.store, interval="week", segment="segment")
    whole = kpis(small.store, segment="segment")
    weeks = sorted({r.period_start for r in k.rows})
    assert weeks[1] == dt.datetime(2026, 1, 12) and all(w.weekday() == 0 for w in weeks[1:])
    for i, lo in enumerate(weeks):
        hi = weeks[i + 1] if i + 1 < len(weeks) else k.end
        prev = dt.datetime(2025, 12, 29) if i == 0 else lo - dt.timedelta(days=7)
        assert_matches(k, reference(*small_raw, lo, hi, prev, segment="segment"), period=i)
    for kpi in ("average_order_value", "contact_rate", "nps", "csat"):  # event counts add up over the weeks
        for seg in ("(all)", "new", "existing"):
            rows = [r for r in k.rows if r.kpi == kpi and r.segment == seg]
            assert sum(r.denominator for r in rows) == whole.row(kpi, seg).denominator
            assert sum(r.numerator for r in rows) == pytest.approx(whole.row(kpi, seg).numerator)


def test_the_whole_store_agrees_with_overview(small):
    o, k = jm.overview(small.store), kpis(small.store)
    sc, cr, nps, csat = (k.row(x) for x in ("session_conversion", "contact_rate", "nps", "csat"))
    assert (sc.numerator, sc.denominator, sc.value) == (o.sessions_with_order, o.sessions, o.session_conversion)
    assert (cr.numerator, cr.denominator, cr.value) == (o.contacts, o.orders, o.contact_rate)
    assert (nps.denominator, csat.denominator) == (o.nps_answers, o.csat_answers)
    assert (nps.value, csat.value) == (pytest.approx(o.nps), pytest.approx(o.csat))
    assert k.row("average_order_value").denominator == o.orders


# -- edges -------------------------------------------------------------------------------------------------
def test_no_data_gives_none_not_errors():
    empty = kpis(jm.connect(":memory:"))
    assert [(r.kpi, r.value, r.denominator) for r in empty.rows] == [(k, None, 0) for k in KPIS]
    store = jm.connect(":memory:")  # orders only: no sessions, contacts or surveys
    jm.read_frame(pd.DataFrame({"c": ["a", "b"], "act": ["order placed"] * 2, "ts": ["2024-01-01", "2024-01-02"],
                                "value": ["10", "oops"]}), store, activity_col="act", timestamp_col="ts",
                  customer_col="c")
    k = kpis(store, segment="region", interval="week")
    assert k.row("nps").value is None and k.row("csat").denominator == 0 and k.row("session_conversion").value is None
    assert (k.row("average_order_value").value, k.row("average_order_value").denominator) == (10.0, 1)
    assert k.row("contact_rate").value == 0.0 and k.row("customer_conversion", "(none)").value == 1.0
    past = kpis(store, start="2025-01-01")
    assert all(r.value is None for r in past.rows)


@pytest.mark.parametrize(("kw", "field"), [
    ({"interval": "day"}, "interval"), ({"segment": ""}, "segment"),
    ({"start": "2024-02-01", "end": "2024-01-01"}, "start"),
    ({"start": "not a date"}, "start"), ({"actors": Segment("s", "order", np.array([1]))}, "actors"),
])
def test_bad_parameters(kw, field):
    with pytest.raises(ConfigError) as err:
        kpis(hand_store(), **kw)
    assert err.value.context["field"] == field and "Got" in str(err.value)


def test_actors_keep_their_customers_sessions_and_events():
    store = hand_store()
    codes = store.query("SELECT code FROM object WHERE type = 'customer' AND id IN ('c1', 'c2')").column(0).to_numpy()
    k = kpis(store, start=FEB, end=MAR, actors=Segment("north", "customer", codes))
    assert values(k) == values(kpis(store, start=FEB, end=MAR, segment="region"), "north")


def test_result_forms():
    k = kpis(hand_store(), start=FEB, end=MAR, segment="region")
    table = k.to_arrow()
    assert table.num_rows == len(KPIS) * 4
    assert table.column_names[:4] == ["kpi", "segment", "period_start", "period_end"]
    d = json.loads(k.to_json())
    assert d["segment"] == "region" and d["parameters"]["order_event"] == "order placed"
    assert d["rows"][0]["period_start"] == "2024-02-01T00:00:00" and d["rows"][0]["definition"]
    assert k.to_pandas().query("kpi == 'nps' and segment == 'south'").value.item() == -50.0
    with pytest.raises(ConfigError):
        k.row("aov")
