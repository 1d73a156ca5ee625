"""One simulated company shared by the simulator tests, and raw-data tables computed from its store by SQL.

The tables are computed from the stored events and objects alone, the way an analyst would, not from the
simulator's internals; the ground truth is used only where the data has no label by design (a person's
hidden persona, a contact's true reason).
"""

from __future__ import annotations

import pandas as pd
import pytest

import journeymine as jm

PEOPLE, DAYS, SEED = 20_000, 90, 11


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    store = jm.connect(tmp_path_factory.mktemp("sim") / "company.duckdb")
    result = jm.simulate(customers=PEOPLE, days=DAYS, seed=SEED, store=store)
    yield result
    store.close()


def frame(store: jm.Store, sql: str, params: dict | None = None) -> pd.DataFrame:
    return store.query(sql, params).to_pandas()


@pytest.fixture(scope="session")
def orders(sim) -> pd.DataFrame:
    """One row per order: placed, picking started, done (delivered or ready for pickup), promised, late,
    shipping, customer, the fraud check's minutes, whether a where-is-my-order contact came (by reason)."""
    df = frame(sim.store, """
        SELECT o.id AS order_id,
               json_extract_string(o.attributes, '$.shipping') AS shipping,
               CAST(json_extract_string(o.attributes, '$.promised_by') AS TIMESTAMP) AS promised,
               min(CASE WHEN e.type = 'order placed' THEN e.time END) AS placed,
               min(CASE WHEN e.type = 'picking started' THEN e.time END) AS pick_start,
               min(CASE WHEN e.type = 'picking completed' THEN e.time END) AS pick_done,
               min(CASE WHEN e.type = 'packing completed' THEN e.time END) AS pack_done,
               min(CASE WHEN e.type IN ('delivered', 'ready for pickup') THEN e.time END) AS done,
               max(CASE WHEN e.type = 'fraud check completed'
                        THEN CAST(json_extract_string(e.attributes, '$.minutes') AS DOUBLE) END) AS fraud_minutes
        FROM object o JOIN event_object eo ON eo.object_code = o.code JOIN event e ON e.code = eo.event_code
        WHERE o.type = 'order'
        GROUP BY o.id, o.attributes
        """)
    owner = frame(sim.store, """
        SELECT s.id AS order_id, t.id AS customer_id
        FROM object_object r JOIN object s ON s.code = r.source_code JOIN object t ON t.code = r.target_code
        WHERE s.type = 'order' AND t.type = 'customer'
        """)
    df = df.merge(owner, on="order_id", how="left")
    df["late"] = df["done"] > df["promised"]
    start = pd.Timestamp(jm.World().start)
    df["day"] = (df["placed"] - start).dt.days
    reasons = _contacts(sim)
    wismo = reasons[reasons.reason == "where_is_my_order"].dropna(subset=["order_id"])
    df["wismo"] = df.order_id.isin(set(wismo.order_id))
    return df


@pytest.fixture(scope="session")
def contacts(sim) -> pd.DataFrame:
    return _contacts(sim)


def _contacts(sim) -> pd.DataFrame:
    """Service contacts with their ticket, order (if any), customer, time, language and text, plus the
    true reason from the ground truth (the data itself carries only the free text)."""
    df = frame(sim.store, """
        SELECT e.id AS event_id, e.time,
               json_extract_string(e.attributes, '$.language') AS language,
               json_extract_string(e.attributes, '$.text') AS text,
               json_extract_string(e.attributes, '$.channel') AS channel,
               max(CASE WHEN o.type = 'ticket' THEN o.id END) AS ticket,
               max(CASE WHEN o.type = 'order' THEN o.id END) AS order_id,
               max(CASE WHEN o.type = 'customer' THEN o.id END) AS customer_id
        FROM event e JOIN event_object eo ON eo.event_code = e.code JOIN object o ON o.code = eo.object_code
        WHERE e.type = 'service contact'
        GROUP BY e.id, e.time, e.attributes
        """)
    truth = sim.truth.contacts.to_pandas()[["ticket", "reason", "value_class"]]
    return df.merge(truth, on="ticket", how="left")
