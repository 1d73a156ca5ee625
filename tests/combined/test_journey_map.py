"""jm.journey_map on the simulated company against direct SQL over the store (the stage of every event,
first times, contacts and process waits recomputed in DuckDB), the planted effects (late deliveries lower
the delivery emotion; the support-heavy persona calls most), lanes, the time frame and bad parameters."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from journeymine.combined._journey_map import journey_map
from journeymine.combined._stages import RETAIL_STAGES, t975
from journeymine.errors import ConfigError

PURCHASES = ("order placed", "in-store purchase")
PLAIN = {name: types for name, types in RETAIL_STAGES.items() if name != "loyalty"}


def _quoted(types) -> str:
    return ", ".join("'" + t.replace("'", "''") + "'" for t in types)


def staged_sql(actor: str = "customer", where: str = "") -> str:
    """The actors' journeys with every event's stage under the default mapping (the loyalty stage: the
    second and later purchases), written out independently in SQL."""
    cases = " ".join(f"WHEN type IN ({_quoted(types)}) THEN '{name}'" for name, types in PLAIN.items())
    return f"""
        j AS (SELECT s.object_code AS a, s.time AS t, s.event_code AS ev, e.type,
                     json_extract_string(e.attributes, '$.channel') AS channel,
                     json_extract_string(e.attributes, '$.survey') AS survey,
                     CAST(json_extract_string(e.attributes, '$.score') AS DOUBLE) AS score,
                     json_extract_string(e.attributes, '$.touchpoint') AS touchpoint,
                     row_number() OVER (PARTITION BY s.object_code, e.type IN ({_quoted(PURCHASES)})
                                        ORDER BY s.time, s.event_code) AS nth
              FROM seq s JOIN event e ON e.code = s.event_code WHERE s.object_type = '{actor}' {where}),
        st AS (SELECT *, CASE WHEN type IN ({_quoted(PURCHASES)}) AND nth >= 2 THEN 'loyalty' {cases} END AS stage
               FROM j)"""


@pytest.fixture(scope="module")
def jmap(company):
    return journey_map(company.store)


def test_stage_reach_share_drop_off_and_time_match_sql(company, jmap):
    sql = "WITH " + staged_sql() + """,
        f AS (SELECT a, stage, min(t) AS t FROM st WHERE stage IS NOT NULL GROUP BY a, stage)
        SELECT stage, count(*) AS n FROM f GROUP BY stage"""
    reach = {r["stage"]: r["n"] for r in company.store.query(sql).to_pylist()}
    everyone = company.store.query("SELECT count(DISTINCT object_code) AS n FROM seq WHERE object_type = 'customer'"
                                   ).column("n")[0].as_py()
    assert jmap.actors == everyone > 10_000
    assert list(jmap.stage_names) == list(RETAIL_STAGES) and jmap.lanes == ("all",)
    for name in RETAIL_STAGES:
        row = jmap.stage(name)
        assert row["actors"] == reach.get(name, 0) > 0, name
        assert row["share"] == pytest.approx(reach[name] / everyone)
    pair = company.store.query("WITH " + staged_sql() + """,
        f AS (SELECT a, stage, min(t) AS t FROM st WHERE stage IS NOT NULL GROUP BY a, stage)
        SELECT avg(CASE WHEN b.a IS NULL THEN 1.0 ELSE 0.0 END) AS drop,
               quantile_cont(CASE WHEN b.t >= p.t THEN (epoch_us(b.t) - epoch_us(p.t)) / 1e6 END, 0.5) AS median
        FROM f p LEFT JOIN f b ON b.a = p.a AND b.stage = 'buy' WHERE p.stage = 'consider'""").to_pylist()[0]
    buy = jmap.stage("buy")
    assert buy["previous"] == "consider" and jmap.stage("discover")["drop_off"] is None
    assert buy["drop_off"] == pytest.approx(pair["drop"]) and 0 < buy["drop_off"] < 1
    assert buy["median_seconds_from_previous"] == pytest.approx(pair["median"], rel=1e-9)


def test_touchpoints_by_channel_and_repeat_purchases_match_sql(company, jmap):
    sql = "WITH " + staged_sql() + """
        SELECT stage, type, coalesce(channel, '(none)') AS channel, count(*) AS events, count(DISTINCT a) AS actors
        FROM st WHERE stage IS NOT NULL GROUP BY ALL"""
    direct = {(r["stage"], r["type"], r["channel"]): (r["events"], r["actors"])
              for r in company.store.query(sql).to_pylist()}
    got = {(r["stage"], r["touchpoint"], r["channel"]): (r["events"], r["actors"])
           for r in jmap.touchpoints.to_pylist() if r["channel"] != "all"}
    assert got == direct
    web = got[("buy", "checkout payment", "web")]
    assert web[0] >= web[1] > 100
    placed = [r for r in jmap.touchpoints.to_pylist() if r["touchpoint"] == "order placed" and r["channel"] == "all"]
    by_stage = {r["stage"]: r for r in placed}
    assert by_stage["buy"]["events"] == by_stage["buy"]["actors"]  # each customer's first purchase only
    assert by_stage["loyalty"]["events"] > by_stage["loyalty"]["actors"] > 0


def test_delivery_emotion_is_the_mean_of_the_delivery_answers(company, jmap):
    sql = "WITH " + staged_sql() + """
        SELECT count(*) AS n, avg(v) AS mean, stddev_samp(v) AS sd FROM (
            SELECT CASE survey WHEN 'nps' THEN (score - 5) / 2.5 WHEN 'csat' THEN score - 3 END AS v
            FROM st WHERE type = 'survey answered' AND touchpoint = 'delivery')"""
    d = company.store.query(sql).to_pylist()[0]
    row = jmap.stage("delivery")
    assert row["answers"] == d["n"] > 1000
    assert row["emotion"] == pytest.approx(d["mean"], rel=1e-9)
    half = 1.961 * d["sd"] / np.sqrt(d["n"])  # Student t(0.975) for ~2000 degrees of freedom
    assert row["emotion_high"] - row["emotion"] == pytest.approx(half, rel=1e-3)
    assert row["emotion_low"] < row["emotion"] < row["emotion_high"]
    assert jmap.unattributed["surveys"] == 0 and jmap.stage("discover")["answers"] == 0


def test_student_t_quantile_matches_printed_tables():
    table = {1: 12.706, 2: 4.303, 3: 3.182, 10: 2.228, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980, 10_000: 1.960}
    for df, value in table.items():
        assert t975(df) == pytest.approx(value, abs=6e-4), df


def test_contact_rate_attributes_contacts_to_the_stage_the_customer_was_in(company, jmap):
    sql = "WITH " + staged_sql() + """,
        calls AS (SELECT a, t, ev FROM st WHERE type = 'service contact'),
        att AS (SELECT c.ev, x.stage, row_number() OVER (PARTITION BY c.ev ORDER BY x.t DESC, x.ev DESC) AS k
               FROM calls c JOIN st x ON x.a = c.a AND x.t <= c.t AND x.stage IS NOT NULL AND x.stage <> 'service')
        SELECT stage, count(*) AS n FROM att WHERE k = 1 GROUP BY stage"""
    direct = {r["stage"]: r["n"] for r in company.store.query(sql).to_pylist()}
    for name in RETAIL_STAGES:
        row = jmap.stage(name)
        if name == "service":
            assert row["contacts"] == 0 and row["contacts_per_100"] is None
            continue
        assert row["contacts"] == direct.get(name, 0), name
        assert row["contacts_per_100"] == pytest.approx(100 * direct.get(name, 0) / row["actors"])
    calls = company.store.query("WITH " + staged_sql() + " SELECT count(*) AS n FROM st WHERE type = 'service contact'")
    assert sum(direct.values()) + jmap.unattributed["contacts"] == calls.column("n")[0].as_py()
    assert jmap.stage("delivery")["contacts_per_100"] > 5 * jmap.stage("buy")["contacts_per_100"]


def order_steps_sql(where: str) -> str:
    """Every step of an order (its events of the types ``where`` picks): the wait since the order's
    previous event, the owner through the 'placed by' link (not through shared events, as the library
    does) and the stage of the order's own last stage event at or before the step, else that of the
    customer's last stage event at or before it (NULL: none)."""
    return "WITH " + staged_sql() + f""",
        ev AS (SELECT eo.object_code AS o, e.time AS t, e.code AS ev, e.type FROM event_object eo
               JOIN event e ON e.code = eo.event_code JOIN object ob ON ob.code = eo.object_code
               WHERE ob.type = 'order'),
        w AS (SELECT *, (epoch_us(t) - epoch_us(lag(t) OVER (PARTITION BY o ORDER BY t, ev))) / 1e6 AS wait FROM ev),
        owner AS (SELECT oo.source_code AS o, oo.target_code AS a FROM object_object oo WHERE qualifier = 'placed by'),
        p AS (SELECT w.*, owner.a FROM w JOIN owner USING (o) WHERE {where}),
        own AS (SELECT p.o, p.ev, x.stage, row_number() OVER (PARTITION BY p.o, p.ev ORDER BY q.t DESC, q.ev DESC) k
                FROM p JOIN ev q ON q.o = p.o AND q.t <= p.t JOIN st x ON x.ev = q.ev AND x.a = p.a
                WHERE x.stage IS NOT NULL),
        cust AS (SELECT p.o, p.ev, x.stage, row_number() OVER (PARTITION BY p.o, p.ev ORDER BY x.t DESC, x.ev DESC) k
                 FROM p JOIN st x ON x.a = p.a AND x.t <= p.t AND x.stage IS NOT NULL),
        att AS (SELECT p.o, p.wait, coalesce(own.stage, cust.stage) AS stage, 1 AS k FROM p
                LEFT JOIN own ON own.o = p.o AND own.ev = p.ev AND own.k = 1
                LEFT JOIN cust ON cust.o = p.o AND cust.ev = p.ev AND cust.k = 1)"""


def test_process_step_waits_match_sql(company, jmap):
    sql = order_steps_sql("w.type = 'picking started'") + """
        SELECT stage, count(*) AS n, count(DISTINCT o) AS objects, quantile_cont(wait, 0.5) AS median,
               quantile_cont(wait, 0.9) AS p90 FROM att WHERE k = 1 AND stage IS NOT NULL GROUP BY stage"""
    direct = {r["stage"]: r for r in company.store.query(sql).to_pylist()}
    got = {r["stage"]: r for r in jmap.process_steps.to_pylist()
           if r["process"] == "order" and r["activity"] == "picking started"}
    assert set(got) == set(direct) and "buy" in got
    # mostly under its order's placement (first or repeat); else after an e-mail or a contact about the order
    placed = got["buy"]["events"] + got["loyalty"]["events"]
    assert placed > 0.9 * sum(r["events"] for r in got.values())
    for stage, r in got.items():
        assert (r["events"], r["objects"]) == (direct[stage]["n"], direct[stage]["objects"]), stage
        assert r["median_wait_seconds"] == pytest.approx(direct[stage]["median"], rel=1e-9)
        assert r["p90_wait_seconds"] == pytest.approx(direct[stage]["p90"], rel=1e-9)
    processes = set(jmap.process_steps.column("process").to_pylist())
    assert {"order", "payment", "ticket"} <= processes and not processes & {"customer", "visitor", "session"}
    staged = {t for types in PLAIN.values() for t in types} | {"survey answered", "service contact"}
    assert not set(jmap.process_steps.column("activity").to_pylist()) & staged


def test_steps_before_the_first_stage_event_are_counted_not_placed(small):
    """With 'delivered' as the only stage, an order's steps before its customer's first delivery have no
    stage: they are counted in ``unattributed``, the others are placed."""
    m = journey_map(small.store, {"delivery": ["delivered"]}, processes=["order"])
    found = small.store.query("""
        WITH d AS (SELECT s.object_code AS a, s.time AS t FROM seq s JOIN event e ON e.code = s.event_code
                   WHERE s.object_type = 'customer' AND e.type = 'delivered'),
        p AS (SELECT e.time AS t, oo.target_code AS a FROM event_object eo JOIN event e ON e.code = eo.event_code
              JOIN object_object oo ON oo.source_code = eo.object_code AND oo.qualifier = 'placed by'
              WHERE e.type NOT IN ('delivered', 'survey answered', 'service contact'))
        SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.a = p.a AND d.t <= p.t)) AS lost,
               count(*) AS total FROM p""").to_pylist()[0]
    placed = sum(r["events"] for r in m.process_steps.to_pylist() if r["lane"] == "all")
    assert m.unattributed["process_events"] == found["lost"] > 0
    assert placed + found["lost"] == found["total"] and placed > 0


def test_late_deliveries_lower_the_delivery_emotion(company):
    """Lanes from the truth: customers with a late order (late_delivery effect) against the others."""
    units = company.truth.units.to_pandas()
    late = set(units[(units.effect == "late_delivery") & (units.object_type == "order") & units.treated].object_id)
    placed = company.store.query("""SELECT o.id AS oid, c.id AS cid FROM object_object oo
        JOIN object o ON o.code = oo.source_code JOIN object c ON c.code = oo.target_code
        WHERE oo.qualifier = 'placed by'""").to_pylist()
    lane: dict[str, str] = {}
    for r in placed:
        if r["oid"] in late or lane.get(r["cid"]) != "late":
            lane[r["cid"]] = "late" if r["oid"] in late else "on time"
    m = journey_map(company.store, lanes=lane)
    assert m.lanes == ("all", "(none)", "late", "on time") and m.lane_by == "mapping"
    slow, fine = m.stage("delivery", "late"), m.stage("delivery", "on time")
    assert slow["answers"] > 300 and fine["answers"] > 1000
    assert slow["emotion_high"] < fine["emotion_low"]
    assert -1.2 < slow["emotion"] - fine["emotion"] < -0.5  # the planted -3 NPS points = -1.2, diluted by lane
    assert slow["contacts_per_100"] > 2 * fine["contacts_per_100"]


def test_the_support_heavy_persona_has_the_highest_contact_rate(company):
    people = company.truth.people.to_pandas()
    m = journey_map(company.store, lanes=dict(zip(people.customer_id, people.persona)))
    rows = [r for r in m.stages.to_pylist() if r["lane"] != "all"]
    assert {r["lane"] for r in rows} == set(people.persona)
    for stage in ("discover", "buy", "delivery"):
        rates = {r["lane"]: r["contacts_per_100"] for r in rows if r["stage"] == stage}
        assert max(rates, key=rates.get) == "support_heavy", (stage, rates)
        others = [v for k, v in rates.items() if k != "support_heavy"]
        assert rates["support_heavy"] > 2 * max(others)
    # lanes partition the actors: every lane's counts sum to the 'all' lane's
    for stage in RETAIL_STAGES:
        parts = [r for r in rows if r["stage"] == stage]
        whole = m.stage(stage)
        assert sum(r["actors"] for r in parts) == whole["actors"]
        assert sum(r["contacts"] for r in parts) == whole["contacts"]
        assert sum(r["answers"] for r in parts) == whole["answers"]


def test_lanes_from_an_attribute_and_the_time_frame(small):
    store = small.store
    m = journey_map(store, lanes="segment", start=dt.datetime(2026, 1, 12), end="2026-01-19")
    where = "AND s.time >= TIMESTAMP '2026-01-12' AND s.time < TIMESTAMP '2026-01-19'"
    direct = {r["stage"]: r["n"] for r in store.query(
        "WITH " + staged_sql(where=where) + " SELECT stage, count(DISTINCT a) AS n FROM st GROUP BY stage").to_pylist()}
    everyone = store.query(f"SELECT count(DISTINCT object_code) AS n FROM seq s WHERE object_type = 'customer' {where}")
    assert m.actors == everyone.column("n")[0].as_py() > 0
    assert {r["stage"]: r["actors"] for r in m.stages.to_pylist() if r["lane"] == "all"} == \
        {name: direct.get(name, 0) for name in RETAIL_STAGES}
    full = journey_map(store)
    assert m.actors < full.actors and m.stage("buy")["actors"] < full.stage("buy")["actors"]
    segments = store.query("SELECT DISTINCT json_extract_string(attributes, '$.segment') AS v FROM object "
                           "WHERE type = 'customer'").column("v").to_pylist()
    assert set(m.lanes) == {"all", *segments} and m.lane_by == "segment"
    for table in (m.stages, m.touchpoints, m.process_steps):
        assert set(table.column("lane").to_pylist()) <= set(m.lanes) and table.num_rows > 0
    assert m.to_dict()["stages"][0]["lane"] == "all" and '"stage_names"' in m.to_json()
    empty = journey_map(store, start="2030-01-01")
    assert empty.actors == 0 and sum(empty.stages.column("actors").to_pylist()) == 0
    assert empty.touchpoints.num_rows == empty.process_steps.num_rows == 0


def test_custom_stages_and_processes(small):
    store = small.store
    m = journey_map(store, {"browse": ["page viewed", "no such event"], "checkout": ["checkout payment"],
                            "again": {"repeat": ["checkout payment"]}}, processes=["payment"],
                    touchpoint_stages={"delivery": "checkout"})
    assert m.stage_names == ("browse", "checkout", "again")
    assert set(m.process_steps.column("process").to_pylist()) == {"payment"}
    placed = {r["stage"]: r["events"] for r in m.touchpoints.to_pylist() if r["channel"] == "all"}
    total = store.query("SELECT count(*) AS n FROM seq s JOIN event e ON e.code = s.event_code "
                        "WHERE s.object_type = 'customer' AND e.type = 'checkout payment'").column("n")[0].as_py()
    assert placed["checkout"] + placed.get("again", 0) == total
    assert placed["checkout"] == m.stage("checkout")["actors"]


@pytest.mark.parametrize("kwargs, field", [
    ({"stages": ["page viewed"]}, "stages"),
    ({"stages": {}}, "stages"),
    ({"stages": {"a": "page viewed"}}, "stages"),
    ({"stages": {"a": ["page viewed"], "b": ["search", "page viewed"]}}, "stages"),
    ({"stages": {"a": ["nothing stored"]}}, "stages"),
    ({"stages": {"a": {"again": ["order placed"]}}}, "stages"),
    ({"actor": "planet"}, "actor"),
    ({"lanes": 3}, "lanes"),
    ({"lanes": "no_such_attribute"}, "lanes"),
    ({"touchpoint_stages": {"delivery": "nowhere"}}, "touchpoint_stages"),
    ({"processes": ["planet"]}, "processes"),
    ({"start": "2026-01-20", "end": "2026-01-10"}, "end"),
    ({"start": "not a date"}, "start"),
    ({"survey": ""}, "survey"),
])
def test_bad_parameters_name_the_field(small, kwargs, field):
    with pytest.raises(ConfigError) as info:
        journey_map(small.store, **kwargs)
    assert info.value.context["field"] == field and "Got" in info.value.message
