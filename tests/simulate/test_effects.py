"""Each planted effect is visible in the raw data by a direct computation, and its size matches the truth.

For every effect: an independent estimate from stored events (two-proportion or mean comparison), a test
that it is there (or, for the confounded option and the null effect, that an honest comparison finds
nothing), and a check that the estimate lies within three standard errors of the true effect the
simulator recorded. The seed is fixed, so these are deterministic, not flaky.
"""

from __future__ import annotations

from math import erfc, sqrt

import numpy as np
import pandas as pd
import pytest

import journeymine as jm


def proportions(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Difference of the means of two 0/1 series, its standard error and the pooled z-test p-value."""
    n1, n2, x1, x2 = a.size, b.size, float(a.sum()), float(b.sum())
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    z = (p1 - p2) / sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return p1 - p2, sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2), erfc(abs(z) / sqrt(2))


def means(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    diff = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))
    return diff, se, erfc(abs(diff / se) / sqrt(2))


def near(estimate: float, se: float, truth: float) -> None:
    assert abs(estimate - truth) < 3 * se, f"estimate {estimate:.4f} (se {se:.4f}) vs truth {truth:.4f}"


# -- effect 1: slow payment verification -> abandonment at the payment step ----------------------------
def test_slow_payment_verification_raises_abandonment(sim):
    df = sim.store.query("""
        SELECT s.id AS session_id,
               max(CASE WHEN e.type = 'payment verification started' THEN e.time END) AS started,
               max(CASE WHEN e.type = 'payment verification completed' THEN e.time END) AS completed,
               count(CASE WHEN e.type = 'order placed' THEN 1 END) > 0 AS ordered
        FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN object s ON s.code = eo.object_code
        WHERE s.type = 'session'
          AND e.type IN ('payment verification started', 'payment verification completed', 'order placed')
        GROUP BY s.id
        """).to_pandas().dropna(subset=["started", "completed"])
    truth = sim.truth.effect("slow_payment")
    slow = (df.completed - df.started).dt.total_seconds() > truth["parameters"]["threshold_seconds"]
    abandoned = ~df.ordered
    diff, se, p = proportions(abandoned[slow], abandoned[~slow])
    assert slow.sum() > 300 and p < 1e-6 and diff > 0
    near(diff, se, truth["true_effect"])
    assert truth["true_effect"] == pytest.approx(0.15)


# -- effect 3: a confusing form field -> form abandonment at that field --------------------------------
def test_confusing_field_raises_abandonment_there(sim):
    df = sim.store.query("""
        SELECT json_extract_string(e.attributes, '$.field') AS field, e.type, count(*) AS n
        FROM event e WHERE e.type IN ('form field focused', 'form abandoned', 'form field error')
        GROUP BY 1, 2
        """).to_pandas().pivot(index="field", columns="type", values="n").fillna(0)
    hazard = df["form abandoned"] / df["form field focused"]
    truth = sim.truth.effect("confusing_field")
    field = truth["parameters"]["field"]
    others = df.drop(index=field)
    reached, left = df.loc[field, "form field focused"], df.loc[field, "form abandoned"]
    base = others["form abandoned"].sum() / others["form field focused"].sum()
    diff, se, p = proportions(pd.Series([1] * int(left) + [0] * int(reached - left)),
                              pd.Series([1] * int(others["form abandoned"].sum())
                                        + [0] * int(others["form field focused"].sum() - others["form abandoned"].sum())))
    assert hazard.idxmax() == field and p < 1e-6
    near(diff, se, truth["true_effect"])
    for f, h in hazard.drop(index=field).items():  # every other field abandons at the base hazard
        n = df.loc[f, "form field focused"]
        assert abs(h - truth["mean_treated"] + truth["true_effect"]) < 3 * sqrt(base * (1 - base) / n), f
    assert df["form field error"].idxmax() == field  # the confusing field also errs most


# -- effect 2: late delivery -> where-is-my-order contacts, NPS, repeat purchase --------------------------
def test_late_delivery_raises_wismo_contacts(sim, orders):
    done = orders.dropna(subset=["done"])
    diff, se, p = proportions(done.wismo[done.late], done.wismo[~done.late])
    truth = sim.truth.effect("late_delivery", "where-is-my-order contact")
    assert p < 1e-10
    near(diff, se, truth["true_effect"])


def test_late_delivery_lowers_nps(sim, orders):
    nps = sim.store.query("""
        SELECT o.id AS order_id, CAST(json_extract_string(e.attributes, '$.score') AS INTEGER) AS score
        FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN object o ON o.code = eo.object_code
        WHERE e.type = 'survey answered' AND o.type = 'order'
          AND json_extract_string(e.attributes, '$.survey') = 'nps'
        """).to_pandas().merge(orders[["order_id", "late"]], on="order_id")
    assert nps.score.between(0, 10).all()
    diff, se, p = means(nps.score[nps.late], nps.score[~nps.late])
    truth = sim.truth.effect("late_delivery", "delivery NPS score (0-10)")
    assert p < 1e-10
    near(diff, se, truth["true_effect"])

    def net(s):
        return 100 * ((s >= 9).mean() - (s <= 6).mean())

    assert net(nps.score[nps.late]) < net(nps.score[~nps.late]) - 30


def test_late_delivery_lowers_repeat_purchase(sim, orders):
    end = pd.Timestamp(jm.World().start) + pd.Timedelta(days=sim.truth.parameters["days"])
    o = orders.sort_values(["customer_id", "placed"])
    o["next"] = o.groupby("customer_id").placed.shift(-1)
    first = o.groupby("customer_id").head(1)
    first = first[first.placed + pd.Timedelta(days=30) <= end]
    repeat = first.next.notna() & (first.next <= first.placed + pd.Timedelta(days=30))
    diff, se, p = proportions(repeat[first.late], repeat[~first.late])
    truth = sim.truth.effect("late_delivery", "repeat purchase within 30 days of the first order")
    assert diff < 0 and p < 1e-3
    near(diff, se, truth["true_effect"])


# -- effect 4: the confounder: a persona that calls a lot and picks express ------------------------------
def test_confounded_option_blamed_naively_but_not_after_adjustment(sim, orders):
    people = sim.truth.people.to_pandas()[["customer_id", "persona"]]
    df = orders.dropna(subset=["done"]).query("shipping != 'click_collect'").merge(people, on="customer_id")
    express = df.shipping == "express"
    naive, _, p_naive = proportions(df.wismo[express], df.wismo[~express])
    assert naive > 0 and p_naive < 1e-4  # the naive comparison blames express shipping
    num = den = var = 0.0
    for _, g in df.groupby("persona"):  # Mantel-Haenszel risk difference over personas
        e, s = g.wismo[g.shipping == "express"], g.wismo[g.shipping == "standard"]
        if e.size < 10 or s.size < 10:
            continue
        w = e.size * s.size / (e.size + s.size)
        num += w * (e.mean() - s.mean())
        den += w
        var += w**2 * (e.mean() * (1 - e.mean()) / e.size + s.mean() * (1 - s.mean()) / s.size)
    adjusted, se = num / den, sqrt(var) / den
    truth = sim.truth.effect("confounder")
    assert truth["true_effect"] == 0.0
    near(adjusted, se, truth["true_effect"])
    _, _, p_late = proportions(df.late[express], df.late[~express])  # express is not late more or less often
    assert p_late > 0.01


# -- effect 5: faster picking from day D -> fewer late orders and fewer contacts afterwards ----------------
def test_faster_picking_shortens_delivery_and_cuts_contacts(sim, orders):
    fx = sim.truth.parameters["effects"]["faster_picking"]
    sale = range(*jm.World().sale_days)
    df = orders.dropna(subset=["done"])
    before = df[(df.day < fx["day"]) & ~df.day.isin(sale)]
    after = df[df.day >= fx["day"]]
    wait = lambda d: (d.pick_start - d.placed).dt.total_seconds().median() / 3600  # noqa: E731
    assert wait(after) < 0.5 * wait(before)
    late = sim.truth.effect("faster_picking", "late delivery")
    diff, se, p = proportions(after.late, before.late)
    assert diff < 0 and p < 1e-10
    near(diff, se, late["true_effect"])
    contacts = sim.truth.effect("faster_picking", "where-is-my-order contact")
    diff, se, p = proportions(after.wismo, before.wismo)
    assert diff < 0 and p < 1e-6
    near(diff, se, contacts["true_effect"])


# -- effect 6: the welcome e-mail -> fewer early contacts ---------------------------------------------------
def test_welcome_email_lowers_early_contacts(sim, orders, contacts):
    customers = sim.store.query("""
        SELECT id AS customer_id FROM object WHERE type = 'customer'
          AND json_extract_string(attributes, '$.segment') = 'new'
          AND CAST(json_extract_string(attributes, '$.consent_email') AS BOOLEAN)
        """).to_pandas()
    welcomed = set(sim.store.query("""
        SELECT o.id FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN object o ON o.code = eo.object_code
        WHERE e.type = 'email sent' AND o.type = 'order' AND json_extract_string(e.attributes, '$.campaign') = 'welcome'
        """).column(0).to_pylist())
    first = orders.sort_values("placed").merge(customers, on="customer_id").groupby("customer_id").head(1)
    asked = contacts[contacts.reason.isin(["where_is_my_order", "change_address", "return_howto"])]
    contacted = first.order_id.isin(set(asked.order_id.dropna()))
    got = first.order_id.isin(welcomed)
    diff, se, p = proportions(contacted[got], contacted[~got])
    truth = sim.truth.effect("welcome_email")
    assert got.sum() > 300 and (~got).sum() > 300 and p < 1e-4
    near(diff, se, truth["true_effect"])


# -- effect 7: the null effect -------------------------------------------------------------------------------
def test_fraud_check_duration_changes_nothing(sim, orders):
    df = orders.dropna(subset=["done", "fraud_minutes"])
    long = df.fraud_minutes > df.fraud_minutes.median()
    assert df.fraud_minutes.quantile(0.9) > 10 * df.fraud_minutes.quantile(0.1)  # it varies a lot
    for outcome in ("wismo", "late"):
        diff, se, p = proportions(df[outcome][long], df[outcome][~long])
        assert p > 0.01, outcome
        near(diff, se, sim.truth.effect("null_fraud_check")["true_effect"])


def test_switched_off_effects_leave_no_trace():
    sim = jm.simulate(customers=3_000, days=60, seed=5, effects={"slow_payment": False,
                                                                 "confusing_field": {"enabled": False}})
    assert sim.truth.effect("slow_payment")["true_effect"] == 0.0
    assert all(e["effect"] != "confusing_field" for e in sim.truth.effects())
    assert sim.truth.parameters["effects"]["slow_payment"]["enabled"] is False


def test_faster_picking_in_named_warehouses_only(tmp_path):
    """``warehouses`` (here from TOML) limits effect 5 to those warehouses' orders: with the same random
    draws, Hamburg's orders and every order before the change day are picked exactly as when every
    warehouse changes (the default), the other warehouses' later orders later; the truth covers only the
    orders it reached."""
    toml = tmp_path / "effects.toml"
    toml.write_text('[faster_picking]\nwarehouses = ["Hamburg"]\n')
    runs = [jm.simulate(customers=3_000, days=60, seed=3, effects=e) for e in (None, toml)]
    sql = """
        SELECT c.id AS customer, min(CASE WHEN e.type = 'order placed' THEN e.time END) AS placed,
               min(CASE WHEN e.type = 'picking started' THEN e.time END) AS pick,
               any_value(json_extract_string(o.attributes, '$.warehouse')) AS warehouse, any_value(o.id) AS order_id
        FROM object o JOIN event_object eo ON eo.object_code = o.code JOIN event e ON e.code = eo.event_code
        JOIN object_object r ON r.source_code = o.code JOIN object c ON c.code = r.target_code
        WHERE o.type = 'order' AND c.type = 'customer' AND e.type IN ('order placed', 'picking started')
        GROUP BY c.id, o.code"""
    every, hamburg = (r.store.query(sql).to_pandas() for r in runs)
    assert runs[1].truth.parameters["effects"]["faster_picking"]["warehouses"] == ["Hamburg"]
    both = every.merge(hamburg, on=["customer", "placed"], suffixes=("_all", "_one")).dropna(subset=["pick_all",
                                                                                                       "pick_one"])
    day = (both.placed - pd.Timestamp(jm.World().start)).dt.days
    same = (both.warehouse_one == "Hamburg") | (day < 45)
    assert same.sum() > 500 and (both.pick_one[same] == both.pick_all[same]).all()
    assert (~same).sum() > 100 and (both.pick_one[~same] > both.pick_all[~same]).mean() > 0.95
    truth = runs[1].truth.unit_table("faster_picking", "late delivery").column("object_id").to_pylist()
    placed = hamburg.assign(day=(hamburg.placed - pd.Timestamp(jm.World().start)).dt.days)
    assert set(truth) == set(placed.order_id[(placed.warehouse == "Hamburg") & (placed.day >= 45)])
    for r in runs:
        r.store.close()
