"""Schema versions and migrations: an old store file opens in a newer release; a newer one is refused."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

import journeymine as jm
from journeymine.store import SCHEMA_VERSION
from journeymine.store._duckdb import DuckDBBackend


def test_new_store_is_at_current_version(store):
    assert store.info().schema_version == SCHEMA_VERSION


def test_version_1_file_is_migrated_and_its_events_get_the_projection(tmp_path):
    path = tmp_path / "old.duckdb"
    old = DuckDBBackend(path, upto=1)  # a store as release 1 wrote it: no event_type, no seq
    con = old.con
    con.execute("INSERT INTO object VALUES (0, 'customer', 'c1', NULL, 1)")
    con.execute("INSERT INTO event VALUES (0, 'e1', 'view', ?, NULL, 1), (1, 'e2', 'buy', ?, NULL, 1)",
                [dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 1)])
    con.execute("INSERT INTO event_object VALUES (0, 0, NULL), (1, 0, NULL)")
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "seq" not in tables
    old.close()

    with jm.connect(path) as store:
        assert store.info().schema_version == SCHEMA_VERSION
        assert store.journey("c1")["activity"].to_pylist() == ["buy", "view"]


def test_newer_store_is_refused_with_its_version(tmp_path):
    path = tmp_path / "future.duckdb"
    jm.connect(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(jm.errors.SchemaVersionError, match="schema version 999") as info:
        jm.connect(path)
    assert info.value.code == "schema_version"


def test_version_2_file_gets_event_counts_per_type(tmp_path):
    path = tmp_path / "v2.duckdb"
    old = DuckDBBackend(path, upto=2)
    con = old.con
    con.execute("INSERT INTO object VALUES (0, 'customer', 'c1', NULL, 1)")
    con.execute("INSERT INTO event VALUES (0, 'e1', 'view', ?, NULL, 1), (1, 'e2', 'view', ?, NULL, 1), "
                "(2, 'e3', 'buy', ?, NULL, 1)", [dt.datetime(2024, 1, 1)] * 3)
    con.execute("INSERT INTO event_type VALUES (0, 'view'), (1, 'buy')")
    old.close()
    with jm.connect(path) as store:
        rows = store.query("SELECT name, events FROM event_type ORDER BY code").to_pylist()
    assert rows == [{"name": "view", "events": 2}, {"name": "buy", "events": 1}]
