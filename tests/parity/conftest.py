"""Parity fixtures: one small store, on DuckDB and (exported with ``write_parquet``) on Spark.

The store is built once per test session from hand-made batches: customers, orders, visitors and a
support ticket (an object type with ``/`` in its name, so partition paths need escaping), events linked
to several objects, object-object links, an attribute change, an identify merge (visitor v1 -> customer
c1) and one event refused into the quarantine (it names an unknown order). Spark is started once per
test session (``local[2]``, the library's :func:`~journeymine.store._spark.local_session`).
"""

from __future__ import annotations

import datetime as dt
import warnings

import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.export._parquet import write_parquet

T0 = dt.datetime(2024, 5, 1, 10, 0)

# pyspark.testing.utils (imported by PySpark's py4j argument converters the first time a query
# parameter is sent to the JVM) warns once per process that pandas >= 3 is not fully supported. It
# warns inside a ``try/except Exception``: under ``-W error`` PySpark would swallow the error and record
# pandas as missing. Ignore exactly that warning while Spark starts and imports it.
PANDAS_3_WARNING = r"PySpark does not yet fully support pandas >= 3\.0\.0"


def events(rows) -> pa.Table:
    """rows: (ord, id, type, seconds after T0, attributes JSON or None)."""
    return pa.table({
        "ord": pa.array([r[0] for r in rows], pa.int64()),
        "id": pa.array([r[1] for r in rows], pa.string()),
        "key": pa.array([None] * len(rows), pa.string()),
        "type": pa.array([r[2] for r in rows], pa.string()),
        "time": pa.array([T0 + dt.timedelta(seconds=r[3]) for r in rows], pa.timestamp("us")),
        "attributes": pa.array([r[4] for r in rows], pa.string()),
    })


def objects(rows) -> pa.Table:
    """rows: (type, id, attributes JSON or None)."""
    return pa.table({"type": [r[0] for r in rows], "id": [r[1] for r in rows],
                     "attributes": pa.array([r[2] for r in rows], pa.string())})


def links(rows) -> pa.Table:
    """rows: (event ord, object type, object id, qualifier or None)."""
    return pa.table({"event_ord": pa.array([r[0] for r in rows], pa.int64()),
                     "object_type": pa.array([r[1] for r in rows], pa.string()),
                     "object_id": [r[2] for r in rows], "qualifier": pa.array([r[3] for r in rows], pa.string())})


def build_store(store: jm.Store) -> None:
    """Load the parity store's data into an empty store."""
    first = jm.Batch(
        objects=objects([("customer", "c1", '{"tier": "gold"}'), ("customer", "c2", None),
                         ("order", "o1", '{"total": 20.5}'), ("order", "o2", None), ("visitor", "v1", None)]),
        events=events([
            (0, "e1", "page_view", 0, '{"url": "/home"}'),
            (1, "e2", "add_to_cart", 30, None),
            (2, "e3", "login", 60, None),
            (3, "e4", "checkout", 90, '{"amount": 20.5}'),
            (4, "e5", "pick", 3600, None),
            (5, "e6", "deliver", 86400, None),
        ]),
        event_objects=links([(0, "visitor", "v1", None), (1, "visitor", "v1", None), (2, "visitor", "v1", None),
                             (2, "customer", "c1", None), (3, "customer", "c1", "buyer"),
                             (3, "order", "o1", None), (4, "order", "o1", None), (5, "order", "o1", None),
                             (5, "customer", "c1", "recipient")]),
    )
    second = jm.Batch(
        objects=objects([("support/ticket", "t1", None)]),
        events=events([
            (6, "e7", "page_view", 10, None),
            (7, "e8", "checkout", 120, None),
            (8, "e9", "pay", 120, None),  # same time as e8 in o2's case: load order breaks the tie
            (9, "e10", "refund", 200, None),  # names an unknown order: refused into the quarantine
            (10, "e11", "open_ticket", 7200, '{"channel": "mail"}'),
        ]),
        event_objects=links([(6, "customer", "c2", None), (7, "customer", "c2", None), (7, "order", "o2", None),
                             (8, "order", "o2", None), (9, "order", "ghost", None),
                             (10, "customer", "c2", None), (10, "support/ticket", "t1", None)]),
        object_objects=pa.table({"source_type": ["order", "order"], "source_id": ["o1", "o2"],
                                 "target_type": ["customer", "customer"], "target_id": ["c1", "c2"],
                                 "qualifier": ["placed_by", "placed_by"]}),
        object_changes=pa.table({"object_type": ["order"], "object_id": ["o1"],
                                 "time": pa.array([T0 + dt.timedelta(hours=1)], pa.timestamp("us")),
                                 "field": ["status"], "value": ['"shipped"']}),
    )
    store.load([first, second], source="shop.csv", format="csv", parameters={"delimiter": ","})
    assert store.identify("v1", "c1", at=T0 + dt.timedelta(seconds=60))


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession (``local[2]``) for the whole test session, stopped at its end."""
    from journeymine.store._spark import local_session

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS_3_WARNING, category=FutureWarning)
        session = local_session()
        import pyspark.testing.utils  # noqa: F401  (the once-per-process pandas warning, ignored here)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def parity_db(tmp_path_factory):
    """The parity store as a DuckDB file (built once, then only opened read-only)."""
    path = tmp_path_factory.mktemp("parity") / "store.duckdb"
    with jm.connect(path) as store:
        build_store(store)
    return path


@pytest.fixture(scope="session")
def reference(parity_db):
    """The parity store on DuckDB, read-only: what every backend must return."""
    with jm.connect(parity_db, read_only=True) as store:
        yield store


@pytest.fixture(scope="session")
def parity_layout(reference, tmp_path_factory):
    """The parity store exported with ``write_parquet``."""
    out = tmp_path_factory.mktemp("parity") / "layout"
    write_parquet(reference, out)
    return out


@pytest.fixture(scope="session")
def spark_store(parity_layout, spark):
    """The exported parity store opened with ``jm.connect_spark`` on the session's SparkSession."""
    with jm.connect_spark(parity_layout, spark=spark) as store:
        yield store


@pytest.fixture(scope="session", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def backend(request) -> jm.Store:
    """The parity store on each backend: the DuckDB file itself, and its Parquet export on Spark."""
    if request.param == "duckdb":
        return request.getfixturevalue("reference")
    return request.getfixturevalue("spark_store")


# -- a small simulated company on both backends, for the journey and process analyses ---------------------
SIM_PEOPLE, SIM_DAYS, SIM_SEED = 600, 30, 5


@pytest.fixture(scope="session")
def sim_reference(tmp_path_factory):
    """A small simulated company (600 people, 30 days) as a DuckDB file, opened read-only."""
    path = tmp_path_factory.mktemp("sim") / "company.duckdb"
    jm.simulate(customers=SIM_PEOPLE, days=SIM_DAYS, seed=SIM_SEED, store=path).store.close()
    with jm.connect(path, read_only=True) as store:
        yield store


@pytest.fixture(scope="session")
def sim_spark(sim_reference, spark, tmp_path_factory):
    """The same company exported with ``write_parquet`` and opened with ``jm.connect_spark``."""
    out = tmp_path_factory.mktemp("sim") / "layout"
    write_parquet(sim_reference, out)
    with jm.connect_spark(out, spark=spark) as store:
        yield store


@pytest.fixture(scope="session", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def sim_backend(request) -> jm.Store:
    """The small simulated company on each backend; compare results with ``sim_reference``."""
    if request.param == "duckdb":
        return request.getfixturevalue("sim_reference")
    return request.getfixturevalue("sim_spark")
