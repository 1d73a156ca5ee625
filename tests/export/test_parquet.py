"""write_parquet: the Parquet layout of a store (folders, partitions, row counts, manifest, overwrite)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import journeymine as jm
from journeymine.errors import ExportError
from journeymine.export._parquet import write_parquet
from journeymine.store import SCHEMA_VERSION, TABLES

T0 = dt.datetime(2024, 5, 1, 10, 0)
PARTITIONED = {"object", "event_object", "seq"}
HIVE = ds.partitioning(pa.schema([("object_type", pa.string())]), flavor="hive")


def _batch(rows, objects):
    """rows: (id, activity, seconds after T0, [(object type, object id), ...])."""
    return jm.Batch(
        objects=pa.table({"type": [o[0] for o in objects], "id": [o[1] for o in objects],
                          "attributes": pa.array([None] * len(objects), pa.string())}),
        events=pa.table({
            "ord": pa.array(range(len(rows)), pa.int64()), "id": [r[0] for r in rows],
            "key": pa.array([None] * len(rows), pa.string()), "type": [r[1] for r in rows],
            "time": pa.array([T0 + dt.timedelta(seconds=r[2]) for r in rows], pa.timestamp("us")),
            "attributes": pa.array(['{"n": 1}' if i == 0 else None for i in range(len(rows))], pa.string()),
        }),
        event_objects=pa.table({
            "event_ord": pa.array([i for i, r in enumerate(rows) for _ in r[3]], pa.int64()),
            "object_type": [t for r in rows for t, _ in r[3]], "object_id": [o for r in rows for _, o in r[3]],
            "qualifier": pa.array([None] * sum(len(r[3]) for r in rows), pa.string()),
        }),
    )


def _shop(store: jm.Store) -> None:
    objects = [("customer", "c1"), ("customer", "c2"), ("order", "o1"), ("web/session", "s1")]
    rows = [
        ("e1", "view", 50, [("customer", "c1"), ("web/session", "s1")]),
        ("e2", "checkout", 40, [("customer", "c1"), ("order", "o1")]),
        ("e3", "view", 30, [("customer", "c2")]),
        ("e4", "deliver", 20, [("order", "o1"), ("customer", "c1")]),
        ("e5", "view", 50, [("customer", "c2")]),  # same time as e1: load order keeps the tie
        ("e6", "refund", 60, [("order", "nope")]),  # unknown order: quarantined
    ]
    store.load([_batch(rows, objects)], source="shop")
    store.identify("v1", "c1", at=T0)


@pytest.fixture()
def shop(store):
    _shop(store)
    return store


def _count(store: jm.Store, table: str) -> int:
    return store.query(f"SELECT count(*) AS n FROM {table}").column(0)[0].as_py()


def _read(folder) -> pa.Table:
    return ds.dataset(folder, format="parquet", partitioning=HIVE).to_table()


def test_one_folder_per_table_and_a_partition_folder_per_object_type(shop, tmp_path):
    out = tmp_path / "layout"
    write_parquet(shop, out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*TABLES, "_journeymine.json"])
    types = ["customer", "order", "visitor", "web%2Fsession"]
    assert sorted(p.name for p in (out / "object").iterdir()) == [f"object_type={t}" for t in types]
    # the visitor has no events of its own (merged into c1), so no event links; seq lists canonical objects
    assert sorted(p.name for p in (out / "event_object").iterdir()) == [
        f"object_type={t}" for t in ["customer", "order", "web%2Fsession"]]
    assert sorted(p.name for p in (out / "seq").iterdir()) == [
        f"object_type={t}" for t in ["customer", "order", "web%2Fsession"]]
    for table in set(TABLES) - PARTITIONED:
        assert [p.name for p in (out / table).iterdir()] == ["part-00000.parquet"]


def test_row_counts_match_the_store(shop, tmp_path):
    manifest = write_parquet(shop, tmp_path / "layout")
    for table in TABLES:
        assert manifest["tables"][table]["rows"] == _count(shop, table) == _read(tmp_path / "layout" / table).num_rows
    by_type = shop.query("SELECT type, count(*) AS n FROM object GROUP BY type ORDER BY type").to_pylist()
    assert manifest["tables"]["object"]["partition"]["rows"] == {r["type"]: r["n"] for r in by_type}
    links = shop.query("""SELECT o.type, count(*) AS n FROM event_object eo JOIN object o ON o.code = eo.object_code
                          GROUP BY o.type ORDER BY o.type""").to_pylist()
    assert manifest["tables"]["event_object"]["partition"]["rows"] == {r["type"]: r["n"] for r in links}
    seq = shop.query("SELECT object_type, count(*) AS n FROM seq GROUP BY object_type ORDER BY object_type").to_pylist()
    assert manifest["tables"]["seq"]["partition"]["rows"] == {r["object_type"]: r["n"] for r in seq}
    assert manifest["tables"]["quarantine"]["rows"] == 1


def test_the_files_hold_the_stores_rows_and_types(shop, tmp_path):
    write_parquet(shop, tmp_path / "layout")
    event = pq.read_table(tmp_path / "layout" / "event")
    assert event.equals(shop.query("SELECT * FROM event ORDER BY code"))
    assert event.schema.field("time").type == pa.timestamp("us")  # no zone
    assert event.schema.field("attributes").type == pa.string() and event["attributes"][0].as_py() == '{"n": 1}'
    objects = _read(tmp_path / "layout" / "object")
    assert "type" not in objects.column_names  # the type lives in the path
    got = sorted(zip(objects["object_type"].to_pylist(), objects["id"].to_pylist(), objects["code"].to_pylist()))
    want = shop.query("SELECT type, id, code FROM object ORDER BY type, id")
    assert got == [tuple(r.values()) for r in want.to_pylist()]


def test_seq_stays_sorted_within_each_partition(shop, tmp_path):
    write_parquet(shop, tmp_path / "layout")
    for folder in sorted((tmp_path / "layout" / "seq").iterdir()):
        part = pq.read_table(folder / "part-00000.parquet")
        assert part.column_names == ["object_code", "time", "type_code", "event_code"]
        keys = list(zip(*(part[c].to_pylist() for c in ["object_code", "time", "event_code"])))
        assert keys == sorted(keys) and keys
    customer = pq.read_table(tmp_path / "layout" / "seq" / "object_type=customer")
    c1 = shop.query("SELECT code FROM object WHERE type = 'customer' AND id = 'c1'").column(0)[0].as_py()
    e = {r["code"]: r["id"] for r in shop.query("SELECT code, id FROM event").to_pylist()}
    assert [e[c] for o, c in zip(customer["object_code"].to_pylist(), customer["event_code"].to_pylist())
            if o == c1] == ["e4", "e2", "e1"]


def test_event_object_partitions_hold_the_linked_objects_type(shop, tmp_path):
    write_parquet(shop, tmp_path / "layout")
    links = _read(tmp_path / "layout" / "event_object")
    assert links.column_names == ["event_code", "object_code", "qualifier", "object_type"]
    got = sorted(zip(links["object_type"].to_pylist(), links["event_code"].to_pylist(), links["object_code"].to_pylist()))
    want = shop.query("""SELECT o.type, eo.event_code, eo.object_code FROM event_object eo
                         JOIN object o ON o.code = eo.object_code ORDER BY 1, 2, 3""")
    assert got == [tuple(r.values()) for r in want.to_pylist()]


def test_manifest_content(shop, tmp_path):
    returned = write_parquet(shop, tmp_path / "layout")
    manifest = json.loads((tmp_path / "layout" / "_journeymine.json").read_text())
    assert manifest == returned
    assert manifest["format"] == "journeymine-parquet" and manifest["layout_version"] == 1
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["journeymine_version"] == jm.__version__
    assert dt.datetime.fromisoformat(manifest["written_at"].removesuffix("Z"))
    assert list(manifest["tables"]) == list(TABLES)
    assert manifest["tables"]["event"]["columns"] == [
        {"name": "code", "type": "int64"}, {"name": "id", "type": "string"}, {"name": "type", "type": "string"},
        {"name": "time", "type": "timestamp[us]"}, {"name": "attributes", "type": "string"},
        {"name": "run_id", "type": "int32"}]
    assert "partition" not in manifest["tables"]["event"]
    assert {t: manifest["tables"][t]["partition"]["as"] for t in PARTITIONED} == {
        "object": "type", "event_object": None, "seq": "object_type"}
    assert [c["name"] for c in manifest["tables"]["object"]["columns"]] == ["code", "type", "id", "attributes", "run_id"]


def test_an_empty_store_writes_every_table_with_its_schema(store, tmp_path):
    manifest = write_parquet(store, tmp_path / "layout")
    for table in TABLES:
        files = list((tmp_path / "layout" / table).iterdir())
        assert [f.name for f in files] == ["part-00000.parquet"]
        columns = [c["name"] for c in manifest["tables"][table]["columns"]]
        if table == "object":
            columns.remove("type")
        if table == "seq":
            columns.remove("object_type")
        assert pq.read_schema(files[0]).names == columns
        assert pq.read_metadata(files[0]).num_rows == 0 and manifest["tables"][table]["rows"] == 0
    assert manifest["tables"]["seq"]["partition"]["rows"] == {}


def test_a_read_only_store_can_be_exported(tmp_path):
    with jm.connect(tmp_path / "s.duckdb") as writable:
        _shop(writable)
    with jm.connect(tmp_path / "s.duckdb", read_only=True) as store:
        assert write_parquet(store, tmp_path / "layout")["tables"]["event"]["rows"] == 5


def test_a_non_empty_folder_is_refused_unless_overwrite_replaces_an_earlier_layout(shop, tmp_path):
    out = tmp_path / "layout"
    out.mkdir()  # an existing empty folder is fine
    write_parquet(shop, out)
    with pytest.raises(ExportError, match="not empty; pass overwrite=True"):
        write_parquet(shop, out)
    shop.identify("v2", "c2", at=T0)
    assert write_parquet(shop, out, overwrite=True)["tables"]["alias"]["rows"] == 2
    assert json.loads((out / "_journeymine.json").read_text())["tables"]["alias"]["rows"] == 2
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary folder left


def test_overwrite_never_deletes_a_folder_that_is_not_a_layout(shop, tmp_path):
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(ExportError):
            write_parquet(shop, foreign, overwrite=overwrite)
    assert (foreign / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="must be a folder"):
        write_parquet(shop, tmp_path / "file", overwrite=True)


def test_a_failed_export_leaves_the_earlier_layout_and_no_temporary_folder(shop, tmp_path, monkeypatch):
    out = tmp_path / "layout"
    write_parquet(shop, out)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def broken_scan(table, batch_size=100_000):
        if table == "seq":
            raise RuntimeError("disk on fire")
        return type(shop).scan(shop, table, batch_size)

    monkeypatch.setattr(shop, "scan", broken_scan)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_parquet(shop, out, overwrite=True)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
