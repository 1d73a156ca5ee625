"""The Spark backend itself: read-only, clear errors on a bad folder, views private to each backend,
empty stores and awkward object types read back as on DuckDB, and the result-type normalisation."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.errors import (
    BackendError,
    ConfigError,
    ReadOnlyStoreError,
    SchemaVersionError,
    StoreError,
    StoreNotFoundError,
)
from journeymine.export._parquet import write_parquet
from journeymine.store import TABLES
from journeymine.store._results import normalise_result
from journeymine.store._spark import to_spark_sql

T0 = dt.datetime(2024, 5, 1, 10, 0)
KEYS = {"event": "code", "object": "code", "event_object": "event_code, object_code",
        "object_object": "source_code", "object_change": "object_code", "alias": "source_code",
        "event_type": "code", "seq": "object_type, object_code, time, event_code", "import_run": "id",
        "quarantine": "run_id"}


def assert_same_tables(store: jm.Store, reference: jm.Store) -> None:
    for table, key in KEYS.items():
        sql = f"SELECT * FROM {table} ORDER BY {key}"
        got, want = store.query(sql), reference.query(sql)
        assert got.schema == want.schema, table
        assert got.equals(want), table


# -- result types, no Spark needed ---------------------------------------------------------------------
def test_normalise_result_gives_the_duckdb_types():
    spark_like = pa.table({
        "n": pa.array([3], pa.int64()),
        "s": pa.array(["a"], pa.large_string()),
        "t": pa.array([dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")),
        "l": pa.array([[1]], pa.large_list(pa.int32())),
    }, schema=pa.schema([pa.field("n", pa.int64(), nullable=False, metadata={"SPARK::metadata::json": "{}"}),
                         ("s", pa.large_string()), ("t", pa.timestamp("us", tz="UTC")),
                         ("l", pa.large_list(pa.int32()))]))
    out = normalise_result(spark_like)
    assert out.schema == pa.schema([("n", pa.int64()), ("s", pa.string()), ("t", pa.timestamp("us")),
                                    ("l", pa.list_(pa.int32()))])
    assert out.schema.field("n").nullable and not out.schema.field("n").metadata
    assert out.to_pylist() == [{"n": 3, "s": "a", "t": dt.datetime(2024, 1, 1, 10), "l": [1]}]


def test_normalise_result_makes_hugeint_sums_int64_when_they_fit():
    sums = pa.table({"small": pa.array([5], pa.decimal128(38, 0)), "big": pa.array([10**30], pa.decimal128(38, 0))})
    out = normalise_result(sums)
    assert out.schema.types == [pa.int64(), pa.decimal128(38, 0)]


def test_queries_are_transpiled_with_every_identifier_quoted():
    sql = to_spark_sql("SELECT e.time FROM event e JOIN object o ON o.code = e.code WHERE o.type = $t")
    assert sql == ("SELECT `e`.`time` FROM `event` AS `e` JOIN `object` AS `o` ON `o`.`code` = `e`.`code` "
                   "WHERE `o`.`type` = :t")
    with pytest.raises(BackendError, match="one statement"):
        to_spark_sql("SELECT 1; SELECT 2")


# -- the backend ----------------------------------------------------------------------------------------

@pytest.mark.spark
def test_writes_raise_read_only(spark_store):
    batch = jm.Batch(objects=pa.table({"type": ["customer"], "id": ["c9"],
                                       "attributes": pa.array([None], pa.string())}))
    with pytest.raises(ReadOnlyStoreError, match="read-only"):
        spark_store.load([batch])
    with pytest.raises(ReadOnlyStoreError):
        spark_store.identify("v1", "c2")
    assert spark_store.backend.read_only and spark_store.backend.name == "spark"


@pytest.mark.spark
def test_a_missing_folder_is_store_not_found(tmp_path, spark):
    with pytest.raises(StoreNotFoundError, match="does not exist") as caught:
        jm.connect_spark(tmp_path / "nowhere", spark=spark)
    assert isinstance(caught.value, StoreError)


@pytest.mark.spark
def test_a_folder_that_is_not_a_layout_is_a_store_error(tmp_path, spark):
    with pytest.raises(StoreError, match="not a journeymine Parquet layout"):
        jm.connect_spark(tmp_path, spark=spark)
    (tmp_path / "_journeymine.json").write_text("{not json")
    with pytest.raises(StoreError, match="not a journeymine Parquet layout"):
        jm.connect_spark(tmp_path, spark=spark)


def _copy_with_manifest(layout, dest, **changes):
    shutil.copytree(layout, dest)
    manifest = json.loads((dest / "_journeymine.json").read_text())
    manifest.update(changes)
    (dest / "_journeymine.json").write_text(json.dumps(manifest))
    return dest


@pytest.mark.spark
def test_schema_versions_other_than_the_current_one_are_refused(parity_layout, tmp_path, spark):
    newer = _copy_with_manifest(parity_layout, tmp_path / "newer", schema_version=99)
    with pytest.raises(SchemaVersionError, match="Upgrade journeymine"):
        jm.connect_spark(newer, spark=spark)
    older = _copy_with_manifest(parity_layout, tmp_path / "older", schema_version=1)
    with pytest.raises(StoreError, match="export it again"):
        jm.connect_spark(older, spark=spark)


@pytest.mark.spark
def test_a_missing_table_folder_is_a_store_error(parity_layout, tmp_path, spark):
    broken = _copy_with_manifest(parity_layout, tmp_path / "broken")
    shutil.rmtree(broken / "seq")
    with pytest.raises(StoreError, match=r"lacks the folder\(s\) of \['seq'\]"):
        jm.connect_spark(broken, spark=spark)


@pytest.mark.spark
def test_bad_sql_unknown_tables_and_closed_stores_raise_clearly(parity_layout, spark, spark_store):
    with pytest.raises(BackendError, match="Spark query failed"):
        spark_store.query("SELECT * FROM no_such_table")
    with pytest.raises(ConfigError, match="table parameter of scan"):
        next(spark_store.scan("meta"))
    store = jm.connect_spark(parity_layout, spark=spark)
    store.close()
    store.close()  # idempotent
    with pytest.raises(BackendError, match="closed"):
        store.query("SELECT 1 AS x")


@pytest.mark.spark
def test_views_belong_to_the_backend_not_to_the_callers_session(spark, spark_store, tmp_path):
    assert not spark.catalog.tableExists("event")
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"  # the fixture's own setting, untouched
    other = tmp_path / "other"
    with jm.connect(":memory:") as empty:
        write_parquet(empty, other)
    with jm.connect_spark(other, spark=spark) as second:
        assert second.info().events == 0
        assert spark_store.info().events == 10  # the first backend still sees its own tables
    assert not spark.catalog.tableExists("event")


@pytest.mark.spark
def test_without_a_session_the_running_one_is_used_and_left_running(parity_layout, spark, reference):
    with jm.connect_spark(parity_layout) as store:  # no spark=: the fixture's session is running
        assert store.info() == reference.info()
    assert spark.range(3).count() == 3


@pytest.mark.spark
def test_a_uri_opens_the_same_layout(parity_layout, spark, reference):
    with jm.connect_spark(parity_layout.as_uri(), spark=spark) as store:
        assert store.info().to_dict() == reference.info().to_dict()


@pytest.mark.spark
def test_an_empty_store_reads_the_same(tmp_path, spark):
    with jm.connect(tmp_path / "empty.duckdb") as duck:
        write_parquet(duck, tmp_path / "layout")
        with jm.connect_spark(tmp_path / "layout", spark=spark) as store:
            assert store.info().to_dict() == duck.info().to_dict()
            assert_same_tables(store, duck)
            assert [b.num_rows for t in TABLES for b in store.scan(t)] == []


@pytest.mark.spark
def test_awkward_object_types_round_trip_through_partition_paths(tmp_path, spark):
    types = ["2024", "a=b%c/d:e", "", "__HIVE_DEFAULT_PARTITION__", "Kunde ü"]
    batch = jm.Batch(
        objects=pa.table({"type": types, "id": ["x"] * len(types), "attributes": pa.array([None] * len(types), pa.string())}),
        events=pa.table({
            "ord": pa.array(range(len(types)), pa.int64()), "id": [f"e{i}" for i in range(len(types))],
            "key": pa.array([None] * len(types), pa.string()), "type": ["seen"] * len(types),
            "time": pa.array([T0 + dt.timedelta(minutes=i) for i in range(len(types))], pa.timestamp("us")),
            "attributes": pa.array([None] * len(types), pa.string()),
        }),
        event_objects=pa.table({"event_ord": pa.array(range(len(types)), pa.int64()), "object_type": types,
                                "object_id": ["x"] * len(types), "qualifier": pa.array([None] * len(types), pa.string())}),
    )
    with jm.connect(tmp_path / "odd.duckdb") as duck:
        duck.load([batch])
        write_parquet(duck, tmp_path / "layout")
        with jm.connect_spark(tmp_path / "layout", spark=spark) as store:
            sql = "SELECT type, count(*) AS n FROM object GROUP BY type ORDER BY type"
            assert store.query(sql).equals(duck.query(sql))
            assert sorted(store.query(sql)["type"].to_pylist()) == sorted(types)
            assert_same_tables(store, duck)
            for t in types:
                assert store.process_view(t).equals(duck.process_view(t))
