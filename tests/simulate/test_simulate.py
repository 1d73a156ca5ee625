"""The simulated company's mechanics and distributions, checked on its stored events."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.errors import ConfigError


def test_nothing_refused_and_every_object_type_present(sim):
    info = sim.store.info()
    assert info.quarantined == 0 and sim.report.refused == 0
    assert set(info.objects_by_type) >= {"customer", "visitor", "session", "order", "item", "payment", "return",
                                         "ticket", "onboarding", "campaign", "store"}
    assert 50 * 20_000 < info.events < 120 * 20_000  # tens of events per person over 90 days


def test_session_conversion_in_the_e_commerce_range(sim):
    o = jm.overview(sim.store)
    assert 0.01 <= o.session_conversion <= 0.05
    assert o.orders == o.sessions_with_order  # one order per converting session


def test_channel_mix(sim):
    by = jm.overview(sim.store).events_by_channel
    assert set(by) >= {"web", "app", "store", "email", "push", "phone", "chat"}
    assert by["web"] > by["app"] > by["email"] > by["store"] > by["push"]
    assert 0.4 < by["web"] / sum(by.values()) < 0.8
    phone_chat_mail = by["phone"] + by["chat"]
    assert phone_chat_mail > 0.5 * sim.store.info().events_by_type["service contact"]


def test_process_steps_take_realistic_times(sim, orders):
    done = orders.dropna(subset=["pack_done"])
    hours = lambda a, b: (b - a).dt.total_seconds() / 3600  # noqa: E731
    wait = hours(done.placed, done.pick_start)
    assert 4 < wait.median() < 48 and wait.quantile(0.9) > 2 * wait.median()  # a skewed queue
    picking = hours(done.pick_start, done.pick_done) * 60
    assert 5 < picking.median() < 30  # minutes
    delivered = orders.dropna(subset=["done"])
    days = hours(delivered.placed, delivered.done) / 24
    assert 1 < days.median() < 5 and (days > 0).all()
    starts = done.pick_start
    assert starts.dt.hour.between(6, 21).all() and (starts.dt.day_of_week != 6).all()  # working hours only


def test_every_order_event_links_to_its_customer(sim):
    missing = sim.store.query("""
        SELECT e.type, count(*) AS n FROM event e
        WHERE EXISTS (SELECT 1 FROM event_object eo JOIN object o ON o.code = eo.object_code
                      WHERE eo.event_code = e.code AND o.type = 'order')
          AND NOT EXISTS (SELECT 1 FROM event_object eo JOIN object o ON o.code = eo.object_code
                          WHERE eo.event_code = e.code AND o.type = 'customer')
        GROUP BY e.type
        """).to_pylist()
    assert missing == []
    picked = sim.store.query("""
        SELECT count(DISTINCT e.code) AS n FROM event e JOIN event_object eo ON eo.event_code = e.code
        JOIN object o ON o.code = eo.object_code WHERE e.type = 'picking completed' AND o.type = 'item'
        """).column(0)[0].as_py()
    assert picked == sim.store.info().events_by_type["picking completed"]  # item lines are linked too


def test_anonymous_journeys_are_stitched(sim):
    info = sim.store.info()
    assert info.aliases == sim.stitched > 10_000
    anonymous = sim.store.query("""
        SELECT c.id AS customer, count(*) AS n
        FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN alias a ON a.source_code = eo.object_code
        JOIN object c ON c.code = a.target_code
        WHERE NOT EXISTS (SELECT 1 FROM event_object x JOIN object o ON o.code = x.object_code
                          WHERE x.event_code = e.code AND o.type = 'customer')
        GROUP BY c.id ORDER BY n DESC, c.id LIMIT 1
        """).to_pylist()[0]
    journey = sim.store.journey(anonymous["customer"])
    direct = sim.store.query("""
        SELECT count(*) FROM event_object eo JOIN object o ON o.code = eo.object_code
        WHERE o.type = 'customer' AND o.id = $c""", {"c": anonymous["customer"]}).column(0)[0].as_py()
    assert journey.num_rows >= direct + anonymous["n"]  # visitor events now part of the customer's journey
    truth = sim.truth.people.to_pandas().set_index("customer_id")
    visitors = set(truth.loc[anonymous["customer"], ["web_visitor", "app_visitor"]].dropna())
    merged = sim.store.query("""
        SELECT s.id FROM alias a JOIN object s ON s.code = a.source_code JOIN object t ON t.code = a.target_code
        WHERE t.id = $c""", {"c": anonymous["customer"]}).column(0).to_pylist()
    assert set(merged) <= visitors and merged  # stitched to the right person's devices


def test_prospects_stay_anonymous(sim):
    people = sim.truth.people.to_pandas()
    assert 0.05 < 1 - people.known.mean() < 0.5  # some people never register
    customers = set(sim.store.query("SELECT id FROM object WHERE type = 'customer'").column(0).to_pylist())
    assert customers == set(people.customer_id[people.known])


def test_contacts_in_german_and_english(contacts):
    share = (contacts.language == "de").mean()
    assert 0.62 < share < 0.78
    de, en = contacts[contacts.language == "de"].text, contacts[contacts.language == "en"].text
    assert de.str.contains("Bestellung|Lieferung|Paket|Rücksendung|Adresse", case=False).mean() > 0.3
    assert en.str.contains("order|delivery|parcel|package|refund|return|address", case=False).mean() > 0.3
    assert not de.isin(set(en)).any()
    assert set(contacts.value_class) == {"valuable", "avoidable", "self_service"}
    assert contacts.reason.notna().all()


def test_surveys_and_form_clicks(sim):
    scores = sim.store.query("""
        SELECT json_extract_string(attributes, '$.survey') AS survey,
               min(CAST(json_extract_string(attributes, '$.score') AS INTEGER)) AS lo,
               max(CAST(json_extract_string(attributes, '$.score') AS INTEGER)) AS hi,
               count(json_extract_string(attributes, '$.comment')) AS comments, count(*) AS n
        FROM event WHERE type = 'survey answered' GROUP BY 1 ORDER BY 1
        """).to_pylist()
    csat, nps = scores
    assert (csat["survey"], csat["lo"], csat["hi"]) == ("csat", 1, 5)
    assert nps["survey"] == "nps" and 0 <= nps["lo"] <= 2 and nps["hi"] == 10
    assert all(r["comments"] == r["n"] for r in scores)
    clicks = sim.store.query("""
        SELECT count(*) AS n, count(json_extract_string(attributes, '$.x')) AS x,
               count(json_extract_string(attributes, '$.y')) AS y
        FROM event WHERE type = 'form field focused'""").to_pylist()[0]
    assert clicks["n"] > 10_000 and clicks["x"] == clicks["y"] == clicks["n"]


def fingerprint(store: jm.Store) -> str:
    """A hash of everything a store holds except when and how fast it was imported."""
    digest = hashlib.sha256()
    queries = [
        "SELECT id, type, time, CAST(attributes AS VARCHAR) FROM event ORDER BY id",
        "SELECT type, id, CAST(attributes AS VARCHAR) FROM object ORDER BY type, id",
        """SELECT e.id, o.type, o.id, l.qualifier FROM event_object l JOIN event e ON e.code = l.event_code
           JOIN object o ON o.code = l.object_code ORDER BY 1, 2, 3""",
        """SELECT s.id, t.id, r.qualifier FROM object_object r JOIN object s ON s.code = r.source_code
           JOIN object t ON t.code = r.target_code ORDER BY 1, 2, 3""",
        """SELECT s.id, t.id, a.merged_at FROM alias a JOIN object s ON s.code = a.source_code
           JOIN object t ON t.code = a.target_code ORDER BY 1, 2""",
    ]
    for sql in queries:
        table = store.query(sql)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def test_same_seed_same_content_other_seed_other_content(tmp_path):
    runs = [jm.simulate(customers=2_500, days=40, seed=seed, store=tmp_path / f"s{i}.duckdb")
            for i, seed in enumerate((3, 3, 4))]
    hashes = [fingerprint(r.store) for r in runs]
    assert hashes[0] == hashes[1] != hashes[2]
    assert runs[0].truth.effects() == runs[1].truth.effects()
    assert runs[0].store.info().events != runs[2].store.info().events
    for r in runs:
        r.store.close()


def test_chunked_runs_are_deterministic(monkeypatch):
    from journeymine.simulate import _run

    monkeypatch.setattr(_run, "CHUNK_PEOPLE", 700)  # several chunks, the next one built while one loads
    a = jm.simulate(customers=2_000, days=20, seed=9)
    monkeypatch.setattr(_run, "CHUNKS_PER_IMPORT", 2)  # and the events in two imports
    b = jm.simulate(customers=2_000, days=20, seed=9)
    assert fingerprint(a.store) == fingerprint(b.store)
    assert [r["source"] for r in b.store.runs().to_pylist()][1:] == [
        "simulate(seed=9): events part 1 of 2", "simulate(seed=9): events part 2 of 2"]
    assert b.report.events_imported == a.report.events_imported == b.store.info().events
    assert a.store.query("SELECT count(DISTINCT split_part(id, '-', 1)) FROM event").column(0)[0].as_py() == 3


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"customers": 0}, "customers"), ({"days": 0}, "days"), ({"seed": -1}, "seed"), ({"customers": 1.5}, "customers"),
    ({"effects": {"no_such_effect": {}}}, "effects.no_such_effect"),
    ({"effects": {"slow_payment": {"threshold": 3}}}, "slow_payment.threshold"),
    ({"effects": {"slow_payment": {"abandonment_increase": "high"}}}, "slow_payment.abandonment_increase"),
    ({"effects": "no/such/file.toml"}, "effects"),
    ({"effects": {"faster_picking": {"warehouses": "Hamburg"}}}, "faster_picking.warehouses"),
    ({"effects": {"faster_picking": {"warehouses": ["Hamburg", 3]}}}, "faster_picking.warehouses"),
    ({"effects": {"faster_picking": {"warehouses": ["Atlantis"]}}}, "faster_picking.warehouses"),
])
def test_bad_parameters_name_the_field(kwargs, field):
    with pytest.raises(ConfigError) as info:
        jm.simulate(**kwargs)
    assert info.value.context["field"] == field
    assert field.split(".")[-1] in info.value.message


def test_effects_from_toml_and_refuses_a_filled_store(tmp_path, store):
    toml = tmp_path / "effects.toml"
    toml.write_text("[slow_payment]\nabandonment_increase = 0.3\n\n[welcome_email]\nenabled = false\n")
    sim = jm.simulate(customers=1_000, days=20, seed=2, effects=toml, store=store)
    assert sim.truth.parameters["effects"]["slow_payment"]["abandonment_increase"] == 0.3
    assert sim.truth.effect("slow_payment")["true_effect"] == pytest.approx(0.3)
    with pytest.raises(ConfigError, match="empty store"):
        jm.simulate(customers=100, store=store)


def test_truth_round_trips_through_its_folder(sim, tmp_path):
    where = sim.truth.write(tmp_path / "truth")
    back = jm.Truth.read(where)
    assert back.effects() == sim.truth.effects()
    assert back.people.num_rows == 20_000
    assert {p.name for p in jm.World().personas} == set(back.people.column("persona").to_pylist())
