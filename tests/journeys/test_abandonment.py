"""Form and cart abandonment: hand-checked tiny stores, the simulator's planted confusing field and its
own "form abandoned" events, a pandas recount of the cart funnel, and bad parameters."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError

from journeymine.journeys._stats import risk_difference

T0 = dt.datetime(2024, 3, 1)
END = 10 * 86400  # the last event of every tiny store: the data end


def store_of(rows) -> jm.Store:
    """rows: (customer, session, activity, seconds, extra attributes dict), in load order."""
    keys = sorted({k for r in rows for k in r[4]})
    df = pd.DataFrame({"customer": [r[0] for r in rows], "session": [r[1] for r in rows],
                       "activity": [r[2] for r in rows], "ts": [T0 + dt.timedelta(seconds=r[3]) for r in rows],
                       **{k: [r[4].get(k) for r in rows] for k in keys}})
    store = jm.connect(":memory:")
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts",
                  objects={"customer": "customer", "session": "session"}, attribute_cols=keys)
    return store


def form_rows():
    A = {"form": "address"}

    def f(field):
        return {**A, "field": field}

    return [
        ("c1", "s1", "form started", 0, A), ("c1", "s1", "form field focused", 10, f("email")),
        ("c1", "s1", "form field focused", 20, f("name")), ("c1", "s1", "form field error", 25, f("name")),
        ("c1", "s1", "form submitted", 30, A),
        ("c1", "s2", "form started", 1000, A), ("c1", "s2", "form field focused", 1010, f("email")),
        ("c1", "s2", "form field focused", 1030, f("name")),  # abandoned at name after 30 s
        ("c1", "s3", "form started", 87400, A), ("c1", "s3", "form field focused", 87410, f("email")),
        ("c1", "s3", "form submitted", 87420, A),  # c1 returns and recovers within 48 h
        ("c2", "s4", "form started", 2000, A), ("c2", "s4", "form field focused", 2010, f("email")),
        ("c2", "s4", "form field focused", 2020, f("name")), ("c2", "s4", "form field focused", 2030, f("email")),
        ("c3", "s5", "form started", 3000, A),  # abandoned before any field
        ("c3", "s6", "form started", 5000, A), ("c3", "s6", "form field focused", 5010, f("email")),
        ("c3", "s6", "form started", 5020, A), ("c3", "s6", "form field focused", 5030, f("email")),  # a restart
        ("c3", "s6", "form field focused", 5040, f("name")), ("c3", "s6", "form submitted", 5050, A),
        ("c5", "s8", "form started", 4000, A), ("c5", "s8", "form field focused", 4010, f("email")),
        ("c6", "s9", "form started", 6000, {"form": "newsletter"}),
        ("c6", "s9", "form submitted", 6010, {"form": "newsletter"}),
        ("c4", "s7", "form started", END - 600, A),  # its 1 h window is still open at the data end
        ("c5", "s10", "page viewed", END, {}),
    ]


def test_form_attempts_fields_and_comebacks_by_hand():
    store = store_of(form_rows())
    r = jm.form_abandonment(store, form="address")
    assert (r.attempts, r.completed, r.abandoned, r.open_attempts) == (8, 3, 5, 1)
    assert r.abandoned_before_first_field == 1
    assert [f.field for f in r.fields] == ["email", "name"]
    email, name = r.fields
    assert (email.reached, email.abandoned, email.errors, email.position) == (7, 3, 0, 1.0)
    assert (name.reached, name.abandoned, name.errors, name.attempts_with_error, name.position) == (4, 1, 1, 1, 2.0)
    assert email.abandonment_rate == pytest.approx(3 / 7)
    assert (email.excess, email.excess_low, email.excess_high) == pytest.approx(risk_difference(3, 7, 1, 4))
    assert (r.median_seconds_to_abandon, r.mean_seconds_to_abandon) == (10.0, 16.0)  # 30, 30, 0, 10, 10
    c = r.comebacks
    assert (c.eligible, c.returned, c.recovered) == (5, 3, 3)  # s2 (next day), s5 and the restarted s6
    assert c.median_seconds_to_return == 2000.0  # 86370 (s2), 2000 (s5), 10 (s6)
    t = r.attempt_table.to_pandas()
    assert len(t) == 9 and t["judged"].sum() == 8
    s6 = t[t["started"] == T0 + dt.timedelta(seconds=5000)].iloc[0]
    assert (s6["last_field"], s6["completed"], s6["returned"], s6["recovered"]) == ("email", False, True, True)
    assert pd.isna(t[t["completed"]]["returned"]).all()
    every = jm.form_abandonment(store)  # without form=: the newsletter form counts too
    assert (every.attempts, every.completed) == (9, 4)
    assert r.field("name") is name and len(r.abandoned_segment()) == 5 and len(r.abandoned_segment("name")) == 1
    again = jm.form_abandonment(store, form="address", actors=r.abandoned_segment("email"))  # s4, s6 and s8
    assert (again.attempts, again.completed, again.field("email").abandoned) == (4, 1, 3)


def test_form_by_customer_delimits_the_same_attempts():
    store = store_of(form_rows())
    by_session, by_customer = (jm.form_abandonment(store, form="address", by=b) for b in ("object:session", "customer"))
    strip = {"by", "object_type"}
    assert {k: v for k, v in by_customer.to_dict().items() if k not in strip} == \
        {k: v for k, v in by_session.to_dict().items() if k not in strip}


def test_form_window_and_period():
    store = store_of(form_rows())
    short = jm.form_abandonment(store, form="address", window="15s")  # every submit came after 20 s or more
    assert (short.completed, short.attempts, short.open_attempts) == (0, 9, 0)  # s7's 15 s are over too
    assert [f.field for f in short.fields] == ["email"]  # every name focus came 20 s or more after its start
    assert (short.field("email").abandoned, short.abandoned_before_first_field) == (7, 2)
    early = jm.form_abandonment(store, form="address", end=T0 + dt.timedelta(seconds=7600))
    assert early.data_end == T0 + dt.timedelta(seconds=7600)
    assert (early.attempts, early.open_attempts) == (5, 2)  # started by 4000 s judged; s6's two still open
    assert early.comebacks.eligible == 0  # nobody's 48 h are over by then


def cart_rows():
    steps = ["added to cart", "checkout address", "checkout delivery", "checkout payment", "order placed"]

    def chain(customer, session, t, depth, gap=10):
        return [(customer, session, steps[k], t + gap * k, {}) for k in range(depth)]

    return [
        *chain("c1", "s1", 0, 5), *chain("c1", "s2", 1000, 2), *chain("c1", "s3", 90000, 5),
        *chain("c2", "s4", 2000, 1), ("c2", "s4", "added to cart", 2050, {}),
        ("c3", "s5", "added to cart", 3000, {}), ("c3", "s5", "checkout address", 3010, {}),
        ("c3", "s5", "checkout payment", 3020, {}),  # payment without delivery: depth 2
        *chain("c4", "s6", 4000, 4), *chain("c4", "s7", 4000 + 3 * 86400, 1),
        ("c6", "s9", "added to cart", 5000, {}), ("c6", "s9", "order placed", 5000 + 86401, {}),  # too late
        ("c5", "s8", "added to cart", END - 3600, {}),  # open: its 24 h window is not over
        ("c5", "s10", "page viewed", END, {}),
    ]


def test_cart_steps_and_comebacks_by_hand():
    r = jm.cart_abandonment(store_of(cart_rows()))
    assert (r.attempts, r.completed, r.abandoned, r.open_attempts) == (8, 2, 6, 1)
    assert [s.reached for s in r.steps] == [8, 5, 3, 3, 2]
    assert [s.abandoned for s in r.steps] == [3, 2, 0, 1, 0]
    assert [s.drop_rate for s in r.steps] == pytest.approx([3 / 8, 2 / 5, 0, 1 / 3, None])
    assert r.steps[0].share_of_abandoned == pytest.approx(0.5)
    assert (r.median_seconds_to_abandon, r.mean_seconds_to_abandon) == (15.0, pytest.approx(110 / 6))
    c = r.comebacks
    assert (c.eligible, c.returned, c.recovered) == (6, 1, 1)  # s2 -> s3 the next day; s7 is 3 days later
    t = r.attempt_table.to_pandas()
    assert t.loc[t["started"] == T0 + dt.timedelta(seconds=2000), "ended"].item() == T0 + dt.timedelta(seconds=2050)
    assert len(r.abandoned_segment()) == 6 and len(r.abandoned_segment(4)) == 1


def test_cart_depths_equal_jm_funnel():
    import random

    rng = random.Random(5)
    names = ["added to cart", "checkout address", "checkout payment", "order placed"]
    rows = [(f"c{i % 40}", f"s{i}", rng.choice(names), rng.randrange(0, 30) * 60, {})  # ties and repeats
            for i in range(120) for _ in range(rng.randrange(1, 9))]
    store = store_of(sorted(rows, key=lambda r: r[1]) + cart_rows())
    for window in ("1h", "15m"):
        r = jm.cart_abandonment(store, window=window, checkout_steps=names[1:3])
        f = jm.funnel(store, names, window=window, by="object:session")
        assert sorted(zip(r.attempt_table["object_code"].to_pylist(), r.attempt_table["depth"].to_pylist())) == \
            sorted(zip(f.actors["object_code"].to_pylist(), f.actors["depth"].to_pylist()))


def test_result_forms():
    r = jm.form_abandonment(store_of(form_rows()))
    d = json.loads(r.to_json())
    assert d["attempts"] == 9 and d["fields"][0]["field"] == "email" and d["comebacks"]["window_seconds"] == 172800
    assert d["data_end"].startswith("2024-03-11")
    assert r.to_pandas().columns.tolist()[:4] == ["field", "position", "reached", "abandoned"]
    c = jm.cart_abandonment(store_of(cart_rows()))
    assert c.to_arrow().column("step").to_pylist() == [1, 2, 3, 4, 5]
    assert json.loads(c.to_json())["steps"][-1]["drop_rate"] is None
    empty = jm.form_abandonment(store_of([("c1", "s1", "page viewed", 0, {})]))
    assert (empty.attempts, empty.abandonment_rate, empty.fields, empty.to_arrow().num_rows) == (0, None, (), 0)


@pytest.mark.parametrize(("call", "field"), [
    (lambda s: jm.form_abandonment(s, window="soon"), "window"),
    (lambda s: jm.form_abandonment(s, return_window=0), "return_window"),
    (lambda s: jm.form_abandonment(s, form=3), "form"),
    (lambda s: jm.form_abandonment(s, field_property=""), "field_property"),
    (lambda s: jm.form_abandonment(s, start_event=["a", "b"]), "start_event"),
    (lambda s: jm.cart_abandonment(s, person_types="customer"), "person_types"),
    (lambda s: jm.cart_abandonment(s, checkout_steps=[3]), "checkout_steps"),
    (lambda s: jm.cart_abandonment(s, end="yesterday"), "end"),
    (lambda s: jm.cart_abandonment(s).abandoned_segment(5), "step"),
    (lambda s: jm.form_abandonment(s).field("zip"), "name"),
])
def test_bad_parameters_name_the_field(call, field):
    with pytest.raises(ConfigError) as exc:
        call(store_of(cart_rows() + form_rows()))
    assert exc.value.context.get("field") == field and "Got" in exc.value.message


# -- the simulator: the planted confusing field -------------------------------------------------------------
def test_the_confusing_field_has_the_largest_excess_and_its_planted_magnitude(company):
    r = jm.form_abandonment(company.store)
    truth = company.truth.effect("confusing_field")
    top = max(r.fields, key=lambda f: f.excess)
    assert top.field == truth["parameters"]["field"] == "postcode"
    assert top.excess_low <= truth["true_effect"] <= top.excess_high
    assert [f.field for f in r.fields] == ["email", "name", "street", "postcode", "city", "phone"]
    assert top.errors > 3 * max(f.errors for f in r.fields if f is not top)  # 30 % errors instead of 4 %
    # the truth's units are the sessions whose form reached the field: ours, plus any still open
    units = set(company.truth.unit_table("confusing_field", "form abandoned at the field | field reached")
                ["object_id"].to_pylist())
    t = r.attempt_table.to_pandas()
    ids = dict(company.store.query("SELECT code, id FROM object WHERE type = 'session'").to_pandas().values)
    ours = {ids[c] for c in t["object_code"]}
    assert top.reached <= len(units) <= top.reached + r.open_attempts and ours >= units


def test_form_counts_equal_the_simulators_own_abandon_events(company):
    r = jm.form_abandonment(company.store)
    cut = r.data_end - dt.timedelta(hours=1)  # attempts started later are open, not judged
    raw = company.store.query("""
        SELECT e.type AS type, json_extract_string(e.attributes, '$.field') AS field,
               count(DISTINCT e.code) AS n, count(DISTINCT f.code) AS focused_in_attempt
        FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN object o ON o.code = eo.object_code
        JOIN event_object so ON so.object_code = o.code JOIN event s ON s.code = so.event_code
        LEFT JOIN (SELECT x.code, x.time, x.attributes, xo.object_code FROM event x
                   JOIN event_object xo ON xo.event_code = x.code WHERE x.type = 'form field focused') f
          ON f.object_code = o.code AND f.time >= s.time
         AND json_extract_string(f.attributes, '$.field') = json_extract_string(e.attributes, '$.field')
        WHERE o.type = 'session' AND e.type IN ('form abandoned', 'form submitted') AND s.type = 'form started'
          AND s.time <= $cut
        GROUP BY e.type, json_extract_string(e.attributes, '$.field')""", {"cut": cut}).to_pylist()
    abandoned = [x for x in raw if x["type"] == "form abandoned"]
    assert r.completed == sum(x["n"] for x in raw if x["type"] == "form submitted")
    assert r.abandoned == sum(x["n"] for x in abandoned)
    # the simulator's own event names the last field focused; a focus it wrote before "form started" (its
    # first field can come less than 2 s after the address step) is not part of the attempt here
    assert {f.field: f.abandoned for f in r.fields} == {x["field"]: x["focused_in_attempt"] for x in abandoned}
    assert r.abandoned_before_first_field == sum(x["n"] - x["focused_in_attempt"] for x in abandoned) < 10


def test_cart_payment_drop_equals_a_pandas_recount(company):
    r = jm.cart_abandonment(company.store)
    names = [s.name for s in r.steps]
    raw = company.store.query("""
        SELECT o.id AS session, e.type AS type, e.time AS time FROM event e
        JOIN event_object eo ON eo.event_code = e.code JOIN object o ON o.code = eo.object_code
        WHERE o.type = 'session' AND e.type IN ($a, $b, $c, $d, $e)""", dict(zip("abcde", names))).to_pandas()
    horizon = company.store.query("SELECT max(time) AS t FROM event").to_pylist()[0]["t"]
    window = pd.Timedelta("24h")
    at = raw[raw["type"] == names[0]].groupby("session")["time"].min().rename("at").reset_index()
    at = at[at["at"] + window <= horizon].assign(t1=lambda d: d["at"], depth=1)
    for step in names[1:]:  # the earliest event of the step after the previous step, within the window
        nxt = at.merge(raw[raw["type"] == step], on="session")
        nxt = nxt[(nxt["time"] > nxt["at"]) & (nxt["time"] <= nxt["t1"] + window)].groupby("session")["time"].min()
        reached = at["session"].isin(nxt.index) & (at["depth"] == names.index(step))
        at.loc[reached, "depth"] += 1
        at.loc[reached, "at"] = at.loc[reached, "session"].map(nxt)
    depths = at["depth"].to_numpy()
    pay = r.steps[3]
    assert pay.name == "checkout payment" and r.attempts == depths.size
    assert (pay.reached, pay.abandoned) == (int((depths >= 4).sum()), int((depths == 4).sum()))
    assert pay.drop_rate == pytest.approx(((depths == 4).sum()) / (depths >= 4).sum())
    assert [s.reached for s in r.steps] == [int((depths > k).sum()) for k in range(5)]
    assert 0.10 < pay.drop_rate < 0.15  # the base 10 % plus the slow-payment effect
