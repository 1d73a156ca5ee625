"""The DuckDB backend: an embedded database file (or ``:memory:``), the default store.

This module and :mod:`._spark` are the only code that imports a database driver. It owns the schema
migrations and every write (:meth:`DuckDBBackend.load`, :meth:`DuckDBBackend.identify`); reads go
through :meth:`DuckDBBackend.query` with SQL in the portable subset.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time as _time
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from ..errors import BackendError, IdentityConflictError, SchemaVersionError, StoreError
from ._batch import Batch, ImportReport
from ._loader import BatchLoader
from ._results import normalise_result
from ._schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

__all__ = ["DuckDBBackend"]


def _half_of_memory() -> str | None:
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2 // 2**20}MB"
    except (ValueError, OSError, AttributeError):  # not POSIX: DuckDB's own default
        return None


class DuckDBBackend:
    """One DuckDB connection owned by one :class:`~journeymine.Store`."""

    dialect = "duckdb"
    name = "duckdb"
    clustered = True  # seq is stored in (object, time) order; a scan returns it in ordered runs (Store puts them in order)

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False, upto: int | None = None,
                 memory_limit: str | None = None):
        self.path = str(path)
        self.read_only = read_only
        self.deferred = False  # inside Store.bulk(): writes mark seq stale instead of rebuilding it
        try:
            limit = memory_limit or _half_of_memory()
            self.con = duckdb.connect(self.path, read_only=read_only, config={"memory_limit": limit} if limit else {})
        except duckdb.Error as exc:
            raise StoreError(f"Cannot open store {self.path!r}: {exc}", path=self.path) from exc
        self.con.execute("SET TimeZone = 'UTC'")
        self._migrate(SCHEMA_VERSION if upto is None else upto)

    # -- schema -------------------------------------------------------------------------------------
    def schema_version(self) -> int:
        has_meta = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchall()[0][0]
        if not has_meta:
            return 0
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        return int(rows[0][0]) if rows else 0

    def _migrate(self, target: int) -> None:
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"Store {self.path!r} has schema version {current}; this journeymine reads up to "
                f"{SCHEMA_VERSION}. Upgrade journeymine to open it.",
                found=current,
                supported=SCHEMA_VERSION,
            )
        if current >= target:
            return
        if self.read_only:
            raise StoreError(f"Store {self.path!r} needs migration {current} -> {target}; open it writable once")

        def steps() -> None:
            for version in range(current + 1, target + 1):
                log.info("migrating store %s to schema version %d", self.path, version)
                for statement in MIGRATIONS[version]:
                    self.con.execute(statement)
                self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
            if target >= 2 and self._seq_dirty():
                self._rebuild_seq()

        try:
            self._write(steps)
        except duckdb.Error as exc:
            raise StoreError(f"Migrating store {self.path!r} from version {current} failed: {exc}") from exc

    # -- reads --------------------------------------------------------------------------------------
    def query(self, sql: str, params: dict[str, object] | None = None) -> pa.Table:
        try:
            return normalise_result(self.con.sql(sql, params=params or None).to_arrow_table())
        except duckdb.Error as exc:
            raise BackendError(f"DuckDB query failed: {exc}") from exc

    def scan(self, table: str, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Stream a whole table (name from the schema) as Arrow record batches, in stored order."""
        yield from self.con.sql(f'SELECT * FROM "{table}"').to_arrow_reader(batch_size)

    def close(self) -> None:
        self.con.close()

    # -- writes -------------------------------------------------------------------------------------
    def _write(self, fn, *args):
        self.con.begin()
        try:
            result = fn(*args)
            self.con.commit()
            return result
        except BaseException:
            self.con.rollback()
            raise

    def _seq_dirty(self) -> bool:
        rows = self.con.execute("SELECT value FROM meta WHERE key = 'seq_dirty'").fetchall()
        return bool(rows) and rows[0][0] == "true"

    def load(
        self, batches: Iterable[Batch], *, source: str, format: str, parameters: dict[str, object] | None = None
    ) -> ImportReport:
        """Write all batches of one import in one transaction; any exception leaves the store as it was."""
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        t0 = _time.perf_counter()

        def run() -> ImportReport:
            run_id = self.con.execute("SELECT coalesce(max(id), 0) + 1 FROM import_run").fetchall()[0][0]
            loader = BatchLoader(self.con, run_id)
            for batch in batches:
                loader.add(batch)
            counts = loader.finish()
            if counts["events"] or counts["links"]:
                self._refresh_seq()
            seconds = _time.perf_counter() - t0
            self.con.execute(
                "INSERT INTO import_run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, source, format, started, seconds, counts["events"], counts["objects"],
                 counts["links"], counts["refused"], counts["duplicates"],
                 json.dumps(parameters or {}, default=str)],
            )
            return ImportReport(
                run_id=run_id, source=source, format=format, events_imported=counts["events"],
                objects_imported=counts["objects"], links_imported=counts["links"],
                refused=counts["refused"], duplicates_skipped=counts["duplicates"], seconds=seconds,
            )

        try:
            return self._write(run)
        except duckdb.Error as exc:
            raise BackendError(f"Import of {source!r} failed in DuckDB: {exc}") from exc

    def _refresh_seq(self) -> None:
        """After a write: rebuild ``seq`` now, or only mark it stale while a bulk block defers it."""
        if self.deferred:
            self.con.execute("INSERT OR REPLACE INTO meta VALUES ('seq_dirty', 'true')")
        else:
            self._rebuild_seq()

    def finish_bulk(self) -> None:
        """End a bulk block: rebuild ``seq`` once if any write in it marked it stale."""
        self.deferred = False
        if self._seq_dirty():
            self._write(self._rebuild_seq)

    def _rebuild_seq(self) -> None:
        canon = self._canonical_map()
        self.con.register("_canon", canon)
        try:
            self.con.execute(
                """
                CREATE OR REPLACE TABLE seq AS
                SELECT o.type AS object_type, l.object_code, e.time, t.code AS type_code, e.code AS event_code
                FROM (
                    SELECT DISTINCT coalesce(c.target_code, eo.object_code) AS object_code, eo.event_code
                    FROM event_object eo LEFT JOIN _canon c ON c.source_code = eo.object_code
                ) l
                JOIN event e ON e.code = l.event_code
                JOIN object o ON o.code = l.object_code
                JOIN event_type t ON t.name = e.type
                ORDER BY object_type, l.object_code, e.time, event_code
                """
            )
        finally:
            self.con.unregister("_canon")
        if self.schema_version() >= 3:  # (a store being migrated to version 2 has no counts yet)
            self._count_types()
        self.con.execute("UPDATE meta SET value = 'false' WHERE key = 'seq_dirty'")

    def _count_types(self) -> None:
        self.con.execute(
            """UPDATE event_type SET events = coalesce(c.n, 0)
               FROM event_type t LEFT JOIN (SELECT type, count(*) AS n FROM event GROUP BY type) c ON c.type = t.name
               WHERE event_type.code = t.code"""
        )

    def _canonical_map(self) -> pa.Table:
        """Alias edges resolved transitively: every merged object code -> its final target code."""
        edges = dict(self.con.execute("SELECT source_code, target_code FROM alias").fetchall())
        resolved: dict[int, int] = {}
        for src in edges:
            target = edges[src]
            while target in edges:
                target = edges[target]
            resolved[src] = target
        return pa.table(
            {"source_code": pa.array(list(resolved), pa.int64()), "target_code": pa.array(list(resolved.values()), pa.int64())}
        )

    def identify(
        self, pairs: list[tuple[str, str]], *, anonymous_type: str, customer_type: str, at: dt.datetime | None
    ) -> int:
        """Merge each anonymous object into a known one; returns how many new merges were recorded."""
        merged_at = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)

        def run() -> int:
            table = pa.table(
                {
                    "source_type": pa.array([anonymous_type] * len(pairs), pa.string()),
                    "source_id": pa.array([str(a) for a, _ in pairs], pa.string()),
                    "target_type": pa.array([customer_type] * len(pairs), pa.string()),
                    "target_id": pa.array([str(c) for _, c in pairs], pa.string()),
                }
            )
            loader = BatchLoader(self.con, run_id=0)
            src = loader.ensure_objects(table, "source_type", "source_id")
            tgt = loader.ensure_objects(table, "target_type", "target_id")
            edges = dict(self.con.execute("SELECT source_code, target_code FROM alias").fetchall())
            new_src: list[int] = []
            new_tgt: list[int] = []
            for (a, c), s, t in zip(pairs, src, tgt):
                if s == t:
                    raise IdentityConflictError(f"Cannot merge {a!r} into itself", anonymous_id=a)
                if s in edges:
                    if edges[s] == t:
                        continue  # idempotent: the same merge again adds nothing
                    raise IdentityConflictError(
                        f"{anonymous_type} {a!r} is already merged into another object; "
                        f"cannot also merge it into {customer_type} {c!r}",
                        anonymous_id=a,
                        customer_id=c,
                    )
                probe = t
                while probe in edges:
                    probe = edges[probe]
                    if probe == s:
                        raise IdentityConflictError(
                            f"Merging {a!r} into {c!r} would make a cycle of aliases", anonymous_id=a, customer_id=c
                        )
                edges[s] = t
                new_src.append(s)
                new_tgt.append(t)
            if new_src:
                self.con.register(
                    "_b_alias",
                    pa.table({"s": pa.array(new_src, pa.int64()), "t": pa.array(new_tgt, pa.int64())}),
                )
                try:
                    self.con.execute("INSERT INTO alias SELECT s, t, $at FROM _b_alias", {"at": merged_at})
                finally:
                    self.con.unregister("_b_alias")
                self._refresh_seq()
            return len(new_src)

        return self._write(run)
