"""jm.impact (P2J): a hand-made step change with a direct computation, and the simulator's faster
picking from day 45 recovered on contacts (against the truth) and on delivery time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import journeymine as jm
from journeymine.errors import ConfigError

T0 = dt.datetime(2024, 1, 1)
AT = T0 + dt.timedelta(days=30)


def contact_store(before: float, after: float, n_days: int = 60, per_day: int = 40, seed: int = 1) -> jm.Store:
    """Orders every day; each is followed by a contact within a day with probability before/after."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_days):
        for i in range(per_day):
            t = T0 + dt.timedelta(days=d, minutes=10 * i)
            oid = f"o{d:03d}-{i:02d}"
            rows.append((oid, "order placed", t))
            if rng.random() < (after if t >= AT else before):
                rows.append((oid, "service contact", t + dt.timedelta(hours=5)))
                rows.append((oid, "delivered", t + dt.timedelta(hours=30)))
            else:
                rows.append((oid, "delivered", t + dt.timedelta(hours=20)))
    rows.append(("zz", "order placed", T0 + dt.timedelta(days=n_days + 10)))  # the horizon
    store = jm.connect(":memory:")
    df = pd.DataFrame(rows, columns=["order", "activity", "ts"])
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="order", case_type="order")
    return store


def test_a_step_change_is_recovered_and_the_plain_difference_equals_the_means():
    store = contact_store(0.30, 0.10)
    kpi = jm.followed_by("order", "order placed", "service contact", "2d")
    its = jm.impact(store, kpi, AT)
    assert its.low < -0.2 < its.high and its.before_units == its.after_units == 1200
    plain = jm.impact(store, kpi, AT, trend=False)
    assert plain.estimate == pytest.approx(plain.after_mean - plain.before_mean)
    assert plain.low < plain.estimate < plain.high and plain.high - plain.low < its.high - its.low
    periods = its.periods.to_pylist()
    assert len(periods) == 60 and all(p["units"] == 40 for p in periods)
    assert periods[0]["fitted"] == pytest.approx(0.30, abs=0.06) and periods[-1]["fitted"] == pytest.approx(0.10, abs=0.06)
    none = jm.impact(contact_store(0.2, 0.2, seed=3), kpi, AT)
    assert none.low < 0 < none.high  # no change, no effect


def test_duration_kpi_and_excluded_periods():
    store = contact_store(0.30, 0.10)
    hours = jm.impact(store, jm.duration_between("order", "order placed", "delivered"), AT, trend=False)
    # delivered after 30 h with a contact, else 20 h: the mean drops by 10 h x (0.30 - 0.10)
    assert hours.estimate == pytest.approx(hours.after_mean - hours.before_mean)
    assert hours.low < -2 < hours.high
    cut = jm.impact(store, jm.duration_between("order", "order placed", "delivered"), AT, trend=False,
                    exclude=[(T0, T0 + dt.timedelta(days=10))])
    assert cut.before_units == 800


@pytest.mark.parametrize("kwargs, field", [({"at": None}, "at"), ({"period": "month"}, "period"),
                                           ({"bootstrap": 10}, "bootstrap"), ({"kpi": "contacts"}, "kpi"),
                                           ({"at": T0 - dt.timedelta(days=5)}, "at")])
def test_bad_parameters_name_the_field(kwargs, field):
    store = contact_store(0.3, 0.1, n_days=40, per_day=5)
    args = {"kpi": jm.followed_by("order", "order placed", "service contact", "2d"), "at": AT, **kwargs}
    with pytest.raises(ConfigError, match=field) as e:
        jm.impact(store, args.pop("kpi"), args.pop("at"), **args)
    assert e.value.context["field"] == field


def test_faster_picking_from_day_45_is_recovered_on_contacts_and_delivery_time(company):
    start = dt.datetime.fromisoformat(str(company.truth.parameters["start"]))
    day = start + dt.timedelta(days=company.truth.parameters["effects"]["faster_picking"]["day"])
    contacts = jm.impact(company.store, jm.followed_by("order", "order placed", "service contact", "14d"), day)
    truth = company.truth.effect("faster_picking", "where-is-my-order contact")["true_effect"]
    assert contacts.low <= truth <= contacts.high and contacts.high < 0
    delivery = jm.impact(company.store, jm.duration_between("order", "order placed", "delivered"), day)
    assert delivery.high < -10  # hours: the queue lost 10 working hours of median wait


def test_what_if_fitted_before_the_change_predicts_the_contacts_after_it(company):
    """The P2J acceptance: the what-if for the planted change (queue x 4/14), fitted only on orders
    before day 45, holds the contact rate observed after day 45 inside its interval."""
    fx = company.truth.parameters["effects"]["faster_picking"]
    day = dt.datetime.fromisoformat(str(company.truth.parameters["start"])) + dt.timedelta(days=fx["day"])
    outcome = jm.followed_by("order", "order placed", "service contact", "14d")
    projection = jm.what_if(company.store, outcome, "picking started",
                            factor=fx["median_hours_after"] / fx["median_hours_before"], until=day)
    observed = jm.impact(company.store, outcome, day, trend=False)
    assert projection.baseline == pytest.approx(observed.before_mean) and projection.units == observed.before_units
    assert projection.low <= observed.after_mean <= projection.high < projection.baseline
    assert jm.what_if(company.store, outcome, "picking started", factor=1.0, until=day).predicted == pytest.approx(
        projection.baseline)  # no change, no projected change
    rates = projection.dose_response.column("outcome_rate").to_pylist()
    assert max(rates[-3:]) > min(rates[:3])  # longer queues, more contacts


def test_what_if_rejects_bad_parameters():
    store = contact_store(0.3, 0.1, n_days=40, per_day=5)
    outcome = jm.followed_by("order", "order placed", "service contact", "2d")
    for kwargs, field in (({"factor": -1}, "factor"), ({"factor": 0.5, "bins": 1}, "bins"),
                          ({"factor": 0.5, "bootstrap": 5}, "bootstrap"), ({"factor": None}, "factor")):
        with pytest.raises(ConfigError, match=field):
            jm.what_if(store, outcome, "delivered", **kwargs)
    with pytest.raises(ConfigError, match="activity"):
        jm.what_if(store, outcome, "no such step", factor=0.5)


# -- repeat purchase (P2J): faster picking -> fewer late first deliveries -> less churn -> more repeat buys --
REPEAT = "repeat purchase within 30 days of the first order"


def test_faster_picking_raises_repeat_purchase_as_the_truth_says(company):
    """Units are customers, their time is their first order; the outcome is their next order within 30
    days. The truth (first orders from day 45 with a full window) is the with-minus-without mean over
    exactly the customers the KPI counts after the change: same units, same observed mean."""
    start = dt.datetime.fromisoformat(str(company.truth.parameters["start"]))
    day = start + dt.timedelta(days=company.truth.parameters["effects"]["faster_picking"]["day"])
    kpi = jm.followed_by("customer", "order placed", "order placed", "30d")
    truth = company.truth.effect("faster_picking", REPEAT)
    its = jm.impact(company.store, kpi, day)
    assert its.after_units == truth["units"] and its.after_mean == pytest.approx(truth["mean_treated"])
    assert 0 < truth["true_effect"] < 0.05  # small: churn moves only customers who would have come back
    assert its.low <= truth["true_effect"] <= its.high  # wide (about ±0.06): honest, the effect is small
    plain = jm.impact(company.store, kpi, day, trend=False)
    assert plain.low <= truth["true_effect"] <= plain.high


# -- difference-in-differences: only Hamburg and Munich pick faster from day 45 ------------------------------
TREATED = ["Hamburg", "Munich"]


@pytest.fixture(scope="module")
def two_warehouses():
    sim = jm.simulate(customers=20_000, days=90, seed=12, effects={"faster_picking": {"warehouses": TREATED}})
    yield sim
    sim.store.close()


def _day(sim, n: int) -> dt.datetime:
    return dt.datetime.fromisoformat(str(sim.truth.parameters["start"])) + dt.timedelta(days=n)


def test_did_recovers_faster_picking_in_two_warehouses(two_warehouses):
    sim, day = two_warehouses, _day(two_warehouses, 45)
    compare = {"warehouse": TREATED}
    hours = jm.impact(sim.store, jm.duration_between("order", "order placed", "delivered"), day, compare=compare)
    truth = sim.truth.effect("faster_picking", "hours from order placed to delivered")
    assert hours.method.startswith("difference-in-differences") and hours.compare == compare
    assert hours.after_units == truth["units"] and hours.after_mean == pytest.approx(truth["mean_treated"])
    assert hours.low <= truth["true_effect"] <= hours.high < -10
    contacts = jm.impact(sim.store, jm.followed_by("order", "order placed", "service contact", "14d"), day,
                         compare=compare)
    truth = sim.truth.effect("faster_picking", "where-is-my-order contact")
    assert contacts.low <= truth["true_effect"] <= contacts.high < 0
    groups = contacts.to_arrow().column("group").to_pylist()
    assert set(groups) == {"treated", "comparison"} and contacts.to_dict()["comparison_after_units"] > 0


def test_did_equals_least_squares_with_period_and_group_dummies(two_warehouses):
    """The reference: units by SQL, the two-way model fitted with numpy on a full dummy design."""
    sim, day = two_warehouses, _day(two_warehouses, 45)
    df = sim.store.query("""
        SELECT min(CASE WHEN e.type = 'order placed' THEN e.time END) AS t0,
               epoch_us(min(CASE WHEN e.type = 'delivered' THEN e.time END))
                 - epoch_us(min(CASE WHEN e.type = 'order placed' THEN e.time END)) AS us,
               json_extract_string(o.attributes, '$.warehouse') AS w
        FROM object o JOIN event_object eo ON eo.object_code = o.code JOIN event e ON e.code = eo.event_code
        WHERE o.type = 'order' AND e.type IN ('order placed', 'delivered')
        GROUP BY o.code, o.attributes HAVING count(*) = 2""").to_pandas()  # orders placed once, delivered once
    y = df.us.to_numpy() / 3.6e9
    g = df.w.isin(TREATED).to_numpy().astype(float)
    days = ((df.t0 - pd.Timestamp(day)) // pd.Timedelta(days=1)).to_numpy()
    after = (days >= 0).astype(float)
    dummies = (days[:, None] == np.unique(days)[None, :]).astype(float)
    beta = np.linalg.lstsq(np.column_stack([dummies, g, g * after]), y, rcond=None)[0]
    kpi = jm.duration_between("order", "order placed", "delivered")
    fe = jm.impact(sim.store, kpi, day, compare={"warehouse": TREATED}, bootstrap=100)
    assert fe.estimate == pytest.approx(beta[-1], abs=1e-9)
    assert (fe.before_units, fe.after_units) == (int((g * (1 - after)).sum()), int((g * after).sum()))
    cells = pd.DataFrame({"y": y, "g": g, "a": after}).groupby(["g", "a"]).y.mean()
    plain = jm.impact(sim.store, kpi, day, compare={"warehouse": TREATED}, trend=False, bootstrap=100)
    assert plain.estimate == pytest.approx(cells[1, 1] - cells[1, 0] - cells[0, 1] + cells[0, 0], abs=1e-9)
    assert plain.comparison_before_mean == pytest.approx(cells[0, 0]) and plain.after_mean == pytest.approx(cells[1, 1])


def test_comparison_group_removes_a_common_shock_the_time_series_takes_for_a_change(two_warehouses):
    """A placebo change at the sale week (day 20, days 45+ left out): the sale's load slows every
    warehouse. The time series reads it as a jump of 30+ hours; the difference-in-differences finds none."""
    sim, kpi = two_warehouses, jm.duration_between("order", "order placed", "delivered")
    placebo, rest = _day(sim, 20), [(_day(sim, 45), _day(sim, 90))]
    its = jm.impact(sim.store, kpi, placebo, exclude=rest)
    did = jm.impact(sim.store, kpi, placebo, exclude=rest, compare={"warehouse": TREATED})
    assert its.low > 20
    assert did.low < 0 < did.high and abs(did.estimate) < 5


@pytest.mark.parametrize("compare", ["warehouse", {}, {"warehouse": []}, {"warehouse": [1]}, {"": ["Hamburg"]},
                                     {"warehouse": ["Hamburg"], "shipping": ["express"]}, {"warehouse": ["Atlantis"]},
                                     {"no_such_attribute": ["x"]},
                                     {"warehouse": ["Hamburg", "Munich", "Leipzig", "Dortmund"]}])
def test_bad_compare_names_the_field(small, compare):
    kpi = jm.duration_between("order", "order placed", "delivered")
    with pytest.raises(ConfigError, match="compare") as e:
        jm.impact(small.store, kpi, "2026-01-20", compare=compare, bootstrap=100)
    assert e.value.context["field"] == "compare"
