"""drivers gives identical results on DuckDB and Spark, and its counts match plain SQL on each backend."""

from __future__ import annotations

from journeymine.journeys._drivers import drivers

CUSTOMER = dict(steps=["added to cart", "checkout address", "order placed"], window="1d", by="customer", min_actors=5)
SESSION = dict(steps=["checkout address", "checkout payment", "order placed"], window="1h", by="session", min_actors=3,
               features=["events", "durations"])
ENTRANTS = """SELECT s.object_code FROM seq s JOIN event_type t ON t.code = s.type_code
              WHERE s.object_type = 'customer' AND t.name = 'added to cart'"""


def same(got, want) -> None:
    assert got.to_dict() == want.to_dict()
    assert got.to_arrow().equals(want.to_arrow()) and got.actors.equals(want.actors)
    assert got.features_tested > 3 and got.successes > 0


def test_customer_drivers_match_the_reference_and_plain_sql(sim_backend, sim_reference):
    r = drivers(sim_backend, **CUSTOMER)
    same(r, drivers(sim_reference, **CUSTOMER))
    entrants = sim_backend.query(f"SELECT count(DISTINCT e.object_code) AS n FROM ({ENTRANTS}) e")
    assert r.actors_total == entrants.column("n")[0].as_py()
    new = sim_backend.query(f"""
        SELECT count(*) AS n FROM object o
        WHERE o.type = 'customer' AND json_extract_string(o.attributes, '$.segment') = 'new'
          AND o.code IN ({ENTRANTS})""").column("n")[0].as_py()
    segment = {d.value: d for d in r.drivers if d.attribute == "segment"}
    assert segment["new"].actors_with == new and segment["existing"].actors_with == r.actors_total - new


def test_session_drivers_match_the_reference(sim_backend, sim_reference):
    same(drivers(sim_backend, **SESSION), drivers(sim_reference, **SESSION))
