"""jm.explain's ``violation`` and ``variant`` features: counts and rates against a direct SQL + Python
computation on the simulated company, temporal precedence on hand-made stores, and parameter errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.combined._explain import explain
from journeymine.combined._features import features
from journeymine.combined._outcomes import evaluate
from journeymine.errors import ConfigError
from journeymine.processes._model import ReferenceModel, Rule

CONTACT = jm.followed_by("order", "order placed", "service contact", "14d")

# every observed order: its outcome, cutoff and (its own) activities before the cutoff, in case order
PREFIXES = """
WITH ev AS (
    SELECT eo.object_code AS o, e.code, e.type AS t, e.time FROM event e JOIN event_object eo ON eo.event_code = e.code
    JOIN object ob ON ob.code = eo.object_code WHERE ob.type = 'order'),
st AS (SELECT o, min(time) AS t0 FROM ev WHERE t = 'order placed' GROUP BY o),
ct AS (SELECT st.o, min(ev.time) AS tc FROM st JOIN ev ON ev.o = st.o AND ev.t = 'service contact' AND ev.time > st.t0
       GROUP BY st.o),
sh AS (SELECT st.o, min(ev.time) AS ts FROM st JOIN ev ON ev.o = st.o AND ev.t = 'shipped' AND ev.time > st.t0
       GROUP BY st.o),
u AS (
    SELECT st.o, st.t0, sh.ts, coalesce(ct.tc <= st.t0 + INTERVAL 14 DAY, false) AS y,
           CASE WHEN ct.tc <= st.t0 + INTERVAL 14 DAY THEN ct.tc ELSE st.t0 + INTERVAL 14 DAY END AS cutoff
    FROM st LEFT JOIN ct USING (o) LEFT JOIN sh USING (o)
    WHERE st.t0 + INTERVAL 14 DAY <= (SELECT max(time) FROM event))
SELECT u.o, u.y, u.t0, u.ts, u.cutoff, list(ev.t ORDER BY ev.time, ev.code) AS path
FROM u JOIN ev ON ev.o = u.o AND ev.time < u.cutoff GROUP BY u.o, u.y, u.t0, u.ts, u.cutoff ORDER BY u.o
"""


@pytest.fixture(scope="module")
def prefixes(company) -> pd.DataFrame:
    return company.store.query(PREFIXES).to_pandas()


def _row(e, kind, detail):
    rows = [r for r in e.findings.to_pylist() if r["kind"] == kind and r["detail"] == detail]
    assert len(rows) == 1, (kind, detail)
    return rows[0]


def _check(row, exposed: np.ndarray, y: np.ndarray):
    assert (row["exposed"], row["unexposed"]) == (int(exposed.sum()), int((~exposed).sum()))
    assert row["rate_exposed"] == pytest.approx(y[exposed].mean())
    assert row["rate_unexposed"] == pytest.approx(y[~exposed].mean())


def test_variant_counts_and_rates_equal_a_direct_computation(company, prefixes):
    e = explain(company.store, CONTACT, process="order", top_variants=20)
    assert e.units == len(prefixes)  # every observed order has its "order placed" before its cutoff
    paths = [" → ".join(p) for p in prefixes["path"]]
    y = prefixes["y"].to_numpy()
    counts = Counter(paths)
    best = sorted(counts, key=lambda p: (-counts[p], p))[:20]
    variants = [r for r in e.findings.to_pylist() if r["kind"] == "variant"]
    tested = {f"variant = {p}" for p in best if min(counts[p], len(y) - counts[p]) >= 30}  # min_support
    assert {r["detail"] for r in variants} == tested
    failed = ("order placed → fraud check completed → picking started → picking completed → packing completed → "
              "shipped → delivery attempted")
    for p in best[:3] + [failed]:
        _check(_row(e, "variant", f"variant = {p}"), np.array([q == p for q in paths]), y)
    # the failed first delivery with no delivery yet: a significant positive finding. Every such order was
    # contacted (the contact is what cut its path there), so read it as "contacts come between a failed
    # attempt and the delivery", not as the size of the failed delivery's effect
    row = _row(e, "variant", f"variant = {failed}")
    assert row["significant"] and row["risk_difference"] > 0.5 and row["rate_exposed"] == 1.0
    assert row["sentence"].startswith(f"Orders where the order's path so far was {failed} were followed by "
                                      "'service contact' within 14d of 'order placed' ")
    # the same path completed with the delivery is the cutoff's other side: significantly fewer contacts
    assert _row(e, "variant", f"variant = {failed} → delivered")["risk_difference"] < 0


def test_violation_counts_equal_a_direct_computation(company, prefixes):
    model = jm.derive_model(company.store, "order", top_variants=5)
    model = dataclasses.replace(model, rules=(Rule("response", "order placed", "shipped", "2d"),
                                              Rule("existence", "delivered"), Rule("response", "shipped", "delivered")))
    e = explain(company.store, CONTACT, process="order", model=model)
    y = prefixes["y"].to_numpy()
    known, edges = set(model.activities), set(model.edges)
    shown: dict[str, np.ndarray] = {}

    def flag(label: str, i: int) -> None:
        shown.setdefault(label, np.zeros(len(y), bool))[i] = True

    for i, path in enumerate(prefixes["path"]):
        for a in path:
            if a not in known:
                flag(f"unknown activity '{a}'", i)
        if path[0] in known and path[0] not in model.start:
            flag(f"start '{path[0]}' not allowed", i)
        for a, b in itertools.pairwise(path):
            if a in known and b in known and (a, b) not in edges:
                flag(f"edge '{a}' -> '{b}' not allowed", i)
    two_days = pd.Timedelta(days=2)
    late = ((prefixes["t0"] + two_days < prefixes["cutoff"]) &
            (prefixes["ts"].isna() | (prefixes["ts"] - prefixes["t0"] > two_days))).to_numpy()
    shown["'order placed' must be responded by 'shipped' within 2d"] = late
    shown["any violation"] = np.any(list(shown.values()), axis=0)
    found = {r["detail"]: r for r in e.findings.to_pylist() if r["kind"] == "violation"}
    assert set(found) == {k for k, v in shown.items() if min(v.sum(), (~v).sum()) >= 30}
    assert len(found) >= 5 and "unknown activity 'delivery attempted'" in found
    for label, row in found.items():
        _check(row, shown[label], y)
    # the picking queue shows as a late shipment before the contact: the strongest violation
    slow = found["'order placed' must be responded by 'shipped' within 2d"]
    assert slow["significant"] and slow["rd_low"] > 0.05
    assert slow["sentence"].startswith("Orders where the order deviated from the model ('order placed' must be "
                                       "responded by 'shipped' within 2d) were followed by 'service contact'")
    assert found["any violation"]["sentence"].startswith("Orders where the order deviated from the model were ")


# --- temporal precedence on a hand-made store ---------------------------------------------------------

T0 = dt.datetime(2024, 3, 1)
H = 3600


def order_store(orders) -> jm.Store:
    """orders: (id, [(activity, hours after T0)])."""
    rows = [(oid, a, h) for oid, events in orders for a, h in events] + [("zz-last", "order placed", 30 * 24)]
    store = jm.connect(":memory:")
    df = pd.DataFrame({"order": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(hours=r[2]) for r in rows]})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="order", case_type="order")
    return store


def test_violations_and_variants_after_the_cutoff_do_not_count():
    placed, pick, contact = "order placed", "picking started", "service contact"
    groups = {  # name: (events, violates before the cutoff)
        "twice after contact": ([(placed, 0), (contact, 1), (pick, 2), (pick, 3)], False),
        "twice, no contact": ([(placed, 0), (pick, 2), (pick, 3)], True),
        "twice before contact": ([(placed, 0), (pick, 2), (pick, 3), (contact, 5)], True),
        "once": ([(placed, 0), (pick, 2)], False),
        "slow, contact before 4 h": ([(placed, 0), (contact, 3), (pick, 30)], False),
        "slow, contact after 4 h": ([(placed, 0), (contact, 10), (pick, 30)], True),
    }
    orders = [(f"{name}-{i}", events) for name, (events, _) in groups.items() for i in range(3)]
    store = order_store(orders)
    model = ReferenceModel(start=(placed,), end=(contact,), rules=(
        Rule("at_most_once", pick), Rule("response", placed, pick, "4h"), Rule("existence", "delivered")))
    units = evaluate(store, jm.followed_by("order", placed, contact, "14d"))
    ids = store.query("SELECT code, id FROM object WHERE type = 'order' ORDER BY code").column("id").to_pylist()
    assert units.codes.size == len(orders) and units.censored == 1
    found, _ = features(store, units, "order", thresholds=None, attributes=[], top_values=5, model=model,
                        top_variants=3)
    got = {f.detail: {ids[i] for i in np.flatnonzero(f.exposed)} for f in found if f.kind in ("violation", "variant")}
    expect = {f"{name}-{i}" for name, (_, bad) in groups.items() if bad for i in range(3)}
    twice = {f"{w}-{i}" for w in ("twice, no contact", "twice before contact") for i in range(3)}
    assert got["'picking started' at most once"] == twice
    assert got["'order placed' must be responded by 'picking started' within 4h"] == {
        f"slow, contact after 4 h-{i}" for i in range(3)}
    assert got["any violation"] == expect
    assert not [d for d in got if "must occur" in d or d.startswith("end ")]  # not judged on a cut-off case
    # the variants so far: the contact cuts the paths of the contacted orders at "order placed"
    assert got["variant = order placed"] == {f"{name}-{i}" for name in (
        "twice after contact", "slow, contact before 4 h", "slow, contact after 4 h") for i in range(3)}
    assert got["variant = order placed → picking started → picking started"] == twice
    assert got["variant = order placed → picking started"] == {f"once-{i}" for i in range(3)}


def test_the_variant_is_the_first_linked_object_s_and_every_linked_object_can_violate():
    """Two sessions, each linked to two payments; each payment's first event dates it."""
    t = [T0 + dt.timedelta(minutes=m) for m in range(10)] + [T0 + dt.timedelta(hours=3)]
    events = pa.table({
        "ord": pa.array(range(10), pa.int64()), "id": [f"e{i}" for i in range(10)],
        "key": pa.array([None] * 10, pa.string()),
        "type": ["start", "verify", "retry", "verify", "start", "verify", "verify", "retry", "done", "start"],
        "time": pa.array([t[0], t[2], t[1], t[3], t[0], t[1], t[4], t[5], t[9], t[10]], pa.timestamp("us")),
        "attributes": pa.array([None] * 10, pa.string()),
    })
    # s1: p1 (verify at 2 min) and p2 (retry at 1, verify at 3): p2 came first, its path is the variant
    # s2: p3 (verify at 1) and p4 (verify at 4, retry at 5): p3 came first; both end at "done" (9 min)
    # s3 starts at 3 h, the store's last event: not observed for 1 h (censored)
    pairs = [(0, "session", "s1"), (1, "session", "s1"), (1, "payment", "p1"), (2, "session", "s1"),
             (2, "payment", "p2"), (3, "payment", "p2"), (4, "session", "s2"), (5, "session", "s2"),
             (5, "payment", "p3"), (6, "session", "s2"), (6, "payment", "p4"), (7, "payment", "p4"),
             (8, "session", "s1"), (8, "session", "s2"), (9, "session", "s3")]
    batch = jm.Batch(
        objects=pa.table({"type": ["session"] * 3 + ["payment"] * 4, "id": ["s1", "s2", "s3", "p1", "p2", "p3", "p4"],
                          "attributes": pa.array([None] * 7, pa.string())}),
        events=events,
        event_objects=pa.table({"event_ord": pa.array([p[0] for p in pairs], pa.int64()),
                                "object_type": [p[1] for p in pairs], "object_id": [p[2] for p in pairs],
                                "qualifier": pa.array([None] * len(pairs), pa.string())}))
    with jm.connect(":memory:") as store:
        store.load([batch], source="hand")
        units = evaluate(store, jm.followed_by("session", "start", "done", "1h"))
        assert units.codes.size == 2 and units.censored == 1 and units.outcome.all()
        model = ReferenceModel(rules=(Rule("precedence", "retry", "verify"),))
        found, _ = features(store, units, "payment", thresholds=None, attributes=[], top_values=5, model=model,
                            top_variants=5)
        got = {f.detail: f.exposed.tolist() for f in found if f.kind in ("violation", "variant")}
    assert got["variant = retry → verify"] == [True, False]  # s1: p2, the earlier of p1 and p2
    assert got["variant = verify"] == [False, True]  # s2: p3 (first event at 1 min) before p4 (at 4 min)
    # p1 (s1) and p3 (s2) verify without a retry before: both sessions violate, through any linked payment
    assert got["'retry' must precede 'verify'"] == [True, True]


# --- parameters -----------------------------------------------------------------------------------------

def test_bad_model_and_top_variants_name_the_field(tmp_path):
    store = order_store([(f"o{i}", [("order placed", 0), ("picking started", 2)]) for i in range(5)])
    bad = [42, {"payment": ReferenceModel(start=("a",))}, ReferenceModel(start=("a",), object_type="payment"),
           {"order": ReferenceModel(start=("a",), object_type="payment")}, {"order": 3}, tmp_path / "missing.toml"]
    for model in bad:
        with pytest.raises(ConfigError, match="model") as e:
            explain(store, CONTACT, process="order", model=model)
        assert e.value.context["field"] == "model"
    for top in (-1, 2.5, "5", True):
        with pytest.raises(ConfigError, match="top_variants") as e:
            explain(store, CONTACT, process="order", top_variants=top)
        assert e.value.context["field"] == "top_variants"
