"""jm.overview on a small hand-made store whose every figure is known, and on a simulated one."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import journeymine as jm


def _store() -> jm.Store:
    # three sessions (one converts), two orders, three contacts, NPS answers 10, 9, 7, 3 and CSAT 4 and 2
    events = [
        ("page viewed", "web", "s1", None, {}), ("order placed", "web", "s1", "o1", {}),
        ("page viewed", "app", "s2", None, {}), ("page viewed", "web", "s3", None, {}),
        ("order placed", "store", None, "o2", {}),
        ("service contact", "phone", None, "o1", {}), ("service contact", "chat", None, "o1", {}),
        ("service contact", "phone", None, None, {}),
        *[("survey answered", "email", None, "o1", {"survey": "nps", "score": s}) for s in (10, 9, 7, 3)],
        *[("survey answered", "email", None, None, {"survey": "csat", "score": s}) for s in (4, 2)],
        ("picking started", None, None, "o1", {}),
    ]
    rows = len(events)
    attrs = [json.dumps({**({"channel": c} if c else {}), **extra}) for _, c, _, _, extra in events]
    links = [(i, "session", s) for i, (_, _, s, _, _) in enumerate(events) if s]
    links += [(i, "order", o) for i, (_, _, _, o, _) in enumerate(events) if o]
    links += [(i, "customer", "c1") for i in range(rows)]
    batch = jm.Batch(
        events=pa.table({"ord": list(range(rows)), "id": [f"e{i}" for i in range(rows)], "key": [None] * rows,
                         "type": [e[0] for e in events],
                         "time": pa.array([1_700_000_000_000_000 + i for i in range(rows)], pa.timestamp("us")),
                         "attributes": attrs}),
        objects=pa.table({"type": ["customer", "visitor", "session", "session", "session", "order", "order"],
                          "id": ["c1", "v1", "s1", "s2", "s3", "o1", "o2"], "attributes": [None] * 7}),
        event_objects=pa.table({"event_ord": [i for i, _, _ in links], "object_type": [t for _, t, _ in links],
                                "object_id": [o for _, _, o in links], "qualifier": [None] * len(links)}),
    )
    store = jm.connect(":memory:")
    store.load([batch])
    return store


def test_every_figure_of_a_known_store():
    o = jm.overview(_store())
    assert (o.customers, o.visitors, o.sessions, o.orders, o.events) == (1, 1, 3, 2, 15)
    assert o.sessions_with_order == 1 and o.session_conversion == pytest.approx(1 / 3)
    assert o.contacts == 3 and o.contact_rate == pytest.approx(150.0)
    assert o.nps_answers == 4 and o.nps == pytest.approx(100 * (2 / 4 - 1 / 4))
    assert o.csat_answers == 2 and o.csat == pytest.approx(3.0)
    assert o.events_by_channel == {"email": 6, "web": 3, "phone": 2, "(none)": 1, "app": 1, "chat": 1, "store": 1}
    assert json.loads(o.to_json())["contact_rate"] == pytest.approx(150.0)


def test_empty_store_has_no_rates():
    o = jm.overview(jm.connect(":memory:"))
    assert o.events == 0 and o.session_conversion is None and o.contact_rate is None and o.nps is None


def test_other_activity_names():
    o = jm.overview(_store(), order_activity="page viewed", contact_activity="picking started")
    assert o.orders == 3 and o.sessions_with_order == 3 and o.contacts == 1
