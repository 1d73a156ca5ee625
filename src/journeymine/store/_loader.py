"""Writing one import's batches into DuckDB: dedupe, integer codes, reference resolution, quarantine.

Runs inside the transaction that :meth:`DuckDBBackend.load` opens. Semantics:

- **Objects** are keyed by ``(type, id)``. One already in the store is kept as it is (its first
  attributes win; later values belong in ``object_changes``). New objects get codes in batch order.
- **Events** are keyed by ``id``. Where the source has no id, the id is ``md5(key)`` (first 20 hex
  digits) plus ``-n`` for the n-th repeat of the same key in this import (n >= 1), so re-importing the
  same file yields the same ids and adds nothing. An event whose id is already in the store, or earlier
  in the same import, is skipped and counted in ``duplicates_skipped``.
- **References**: a link naming an object that is neither in the batch nor in the store refuses its
  whole event into the quarantine ("unknown object reference"); a link with a null object type matches
  the one object with that id, and refuses the event when several types share that id. Object-object
  links and attribute changes with an unknown object are refused one by one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import IngestError
from ._batch import SCHEMAS, Batch

__all__ = ["BatchLoader"]


def _resolve_sql(rel: str, id_col: str, type_col: str, alias: str) -> str:
    """SELECT every row of ``rel`` with ``{alias}`` (the object code, null when unresolved) and
    ``{alias}_n`` (how many objects matched: 1 is good, 0 unknown, >1 ambiguous). Typed references
    are a plain hash join; untyped ones match on id alone and are counted."""
    return f"""
        SELECT r.*, o.code AS {alias}, CASE WHEN o.code IS NULL THEN 0 ELSE 1 END AS {alias}_n
        FROM {rel} r LEFT JOIN object o ON o.type = r.{type_col} AND o.id = r.{id_col}
        WHERE r.{type_col} IS NOT NULL
        UNION ALL
        SELECT r.*, m.code AS {alias}, coalesce(m.n, 0) AS {alias}_n
        FROM {rel} r LEFT JOIN (SELECT id, min(code) AS code, count(*) AS n FROM object GROUP BY id) m
          ON m.id = r.{id_col}
        WHERE r.{type_col} IS NULL
    """


def _covers(ords: pa.ChunkedArray, refs: pa.ChunkedArray) -> bool:
    """True when ``ords`` are contiguous and every value of ``refs`` lies in their range (cheap check
    that spares a join in the common case of an importer numbering its events 0..n-1)."""
    if len(refs) == 0:
        return True
    lo, hi = pc.min_max(ords).values()
    rlo, rhi = pc.min_max(refs).values()
    if lo.as_py() is None or rlo.as_py() is None or refs.null_count:
        return False
    return hi.as_py() - lo.as_py() + 1 == len(ords) and lo.as_py() <= rlo.as_py() and rhi.as_py() <= hi.as_py()


class BatchLoader:
    def __init__(self, con, run_id: int):
        self.con = con
        self.run_id = run_id
        self.counts = {"events": 0, "objects": 0, "links": 0, "refused": 0, "duplicates": 0}
        self._event_base = con.execute("SELECT coalesce(max(code), -1) + 1 FROM event").fetchall()[0][0]
        self._max_ord: int | None = None

    # -- objects ------------------------------------------------------------------------------------
    def _next_object_code(self) -> int:
        return self.con.execute("SELECT coalesce(max(code), -1) + 1 FROM object").fetchall()[0][0]

    def _insert_objects(self, table: pa.Table) -> int:
        """Insert objects (type, id, attributes) not yet in the store; returns the number inserted."""
        if table.num_rows == 0:
            return 0
        table = table.append_column("_ord", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        self.con.register("_b_objects", table)
        try:
            n = self.con.execute(
                """
                INSERT INTO object
                SELECT $base + row_number() OVER (ORDER BY _ord) - 1, type, id, attributes, $run
                FROM (
                    SELECT b.* FROM _b_objects b
                    WHERE b.type IS NOT NULL AND b.id IS NOT NULL
                    QUALIFY row_number() OVER (PARTITION BY b.type, b.id ORDER BY b._ord) = 1
                ) b
                WHERE NOT EXISTS (SELECT 1 FROM object o WHERE o.type = b.type AND o.id = b.id)
                """,
                {"base": self._next_object_code(), "run": self.run_id},
            ).fetchall()[0][0]
        finally:
            self.con.unregister("_b_objects")
        return int(n)

    def ensure_objects(self, table: pa.Table, type_col: str, id_col: str) -> list[int]:
        """Create the (type, id) objects named in two columns if missing; return their codes in row order."""
        objects = pa.table(
            {"type": table[type_col], "id": table[id_col], "attributes": pa.nulls(table.num_rows, pa.string())}
        )
        self.counts["objects"] += self._insert_objects(objects)
        self.con.register("_ensure", objects.append_column("_row", pa.array(np.arange(table.num_rows))))
        try:
            rows = self.con.execute(
                "SELECT o.code FROM _ensure e JOIN object o ON o.type = e.type AND o.id = e.id ORDER BY e._row"
            ).fetchall()
        finally:
            self.con.unregister("_ensure")
        return [r[0] for r in rows]

    # -- one batch ----------------------------------------------------------------------------------
    def _scalar(self, sql: str, params: dict | None = None) -> int:
        """Run a statement and return the single number it yields (a count, or rows written)."""
        return int(self.con.execute(sql, params or {}).fetchall()[0][0])

    def add(self, batch: Batch) -> None:
        """Write one batch of the import."""
        if batch.objects is not None:
            self.counts["objects"] += self._insert_objects(batch.objects)
        if batch.events is not None and batch.events.num_rows:
            self._add_events(batch.events, batch.event_objects)
        if batch.object_objects is not None and batch.object_objects.num_rows:
            self._add_object_objects(batch.object_objects)
        if batch.object_changes is not None and batch.object_changes.num_rows:
            self._add_object_changes(batch.object_changes)
        if batch.quarantine is not None and batch.quarantine.num_rows:
            self._quarantine_table("_b_q", batch.quarantine)

    def _quarantine_table(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)
        try:
            self._quarantine_sql(f"SELECT position, reason, record FROM {name}")
        finally:
            self.con.unregister(name)

    def _quarantine_sql(self, select: str, params: dict | None = None) -> None:
        n = self.con.execute(
            f"INSERT INTO quarantine SELECT $run, position, reason, record FROM ({select})",
            {"run": self.run_id, **(params or {})},
        ).fetchall()[0][0]
        self.counts["refused"] += int(n)

    def _check_ords(self, events: pa.Table) -> None:
        """``ord`` must be unique across the batches of an import (it becomes the event code): cheap
        range check, exact check only when this batch's range reaches back into earlier ones."""
        lo, hi = (v.as_py() for v in pc.min_max(events["ord"]).values())
        if lo is None:
            raise IngestError("A batch has events without an ord")
        if self._max_ord is not None and lo <= self._max_ord:
            self.con.register("_b_ords", events.select(["ord"]))
            try:
                clash = self._scalar("SELECT count(*) FROM _b_ords b JOIN event e ON e.code = $base + b.ord",
                                     {"base": self._event_base})
            finally:
                self.con.unregister("_b_ords")
            if clash:
                raise IngestError(f"{clash} events of a batch repeat an ord of an earlier batch of the same import; "
                                  "ord must number the events of a whole import")
        if pc.count_distinct(events["ord"]).as_py() != events.num_rows:
            raise IngestError("A batch repeats an ord; ord must be unique within an import")
        self._max_ord = hi if self._max_ord is None else max(hi, self._max_ord)

    def _add_events(self, events: pa.Table, links: pa.Table | None) -> None:
        con = self.con
        self._check_ords(events)
        if links is None:
            links = pa.Table.from_batches([], schema=SCHEMAS["event_objects"])
        con.register("_b_events", events)
        con.register("_b_links", links.append_column("_row", pa.array(np.arange(links.num_rows, dtype=np.int64))))
        try:
            # 1. ids only (the wide columns are copied once, by the final INSERT): given, or the
            #    content hash; repeats of a hash in this import are numbered "-n" below.
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE _ids AS
                SELECT ord, coalesce(id, substr(md5(key), 1, 20)) AS id, id IS NULL AS hashed FROM _b_events
                """
            )
            earlier = self.counts["events"] > 0  # earlier batches of this import are in `event` already
            repeated = self._scalar(
                "CREATE OR REPLACE TEMP TABLE _rep AS SELECT id FROM _ids GROUP BY id HAVING count(*) > 1"
                + (" UNION SELECT id FROM _ids WHERE hashed AND id IN (SELECT id FROM event WHERE run_id = $run)"
                   if earlier else ""),
                {"run": self.run_id} if earlier else None,
            )
            if repeated:
                prior = (
                    """LEFT JOIN (SELECT split_part(id, '-', 1) AS h, count(*) AS n FROM event
                                  WHERE run_id = $run GROUP BY h) k ON k.h = i.id"""
                    if earlier else "LEFT JOIN (SELECT NULL::VARCHAR AS h, 0 AS n) k ON false"
                )
                con.execute(
                    f"""
                    CREATE OR REPLACE TEMP TABLE _occ AS
                    SELECT i.ord, row_number() OVER (PARTITION BY i.id ORDER BY i.ord) - 1 + coalesce(k.n, 0) AS occ
                    FROM _ids i SEMI JOIN _rep r ON r.id = i.id {prior}
                    WHERE i.hashed
                    """,
                    {"run": self.run_id} if earlier else {},
                )
                con.execute(
                    "UPDATE _ids SET id = _ids.id || '-' || o.occ FROM _occ o WHERE o.ord = _ids.ord AND o.occ > 0"
                )
            # 2. resolve links to object codes; an unresolved or ambiguous link refuses its event.
            con.execute("CREATE OR REPLACE TEMP TABLE _lk AS " + _resolve_sql("_b_links", "object_id", "object_type", "object_code"))
            refused = self._scalar(
                "CREATE OR REPLACE TEMP TABLE _bad AS SELECT DISTINCT event_ord FROM _lk WHERE object_code_n <> 1"
            )
            if refused:
                self._quarantine_sql(
                    """
                    SELECT 'event ' || to_json(i.id)::VARCHAR || ' (record ' || (e.ord + 1) || ')' AS position,
                           string_agg(CASE WHEN l.object_code_n = 0 THEN 'unknown object reference '
                                           ELSE 'ambiguous object reference ' END
                                      || to_json(l.object_id)::VARCHAR
                                      || coalesce(' of type ' || to_json(l.object_type)::VARCHAR, ''), '; ') AS reason,
                           to_json({id: i.id, type: e.type, time: e.time, attributes: e.attributes::JSON})::VARCHAR
                               AS record
                    FROM _b_events e JOIN _ids i ON i.ord = e.ord
                    JOIN (SELECT DISTINCT event_ord, object_id, object_type, object_code_n FROM _lk
                          WHERE object_code_n <> 1) l ON l.event_ord = e.ord
                    GROUP BY e.ord, i.id, e.type, e.time, e.attributes
                    """
                )
                con.execute("DELETE FROM _ids WHERE ord IN (SELECT event_ord FROM _bad)")
            # 3. duplicates: a given id repeated in this import (first wins) or already in the store.
            if repeated:
                con.execute(
                    """
                    DELETE FROM _ids WHERE ord IN (
                        SELECT ord FROM (SELECT ord, row_number() OVER (PARTITION BY id ORDER BY ord) AS k FROM _ids
                                         WHERE id IN (SELECT id FROM _rep)) WHERE k > 1)
                    """
                )
            if self._event_base > 0 or earlier:
                con.execute("DELETE FROM _ids WHERE id IN (SELECT id FROM event)")
            new = self._scalar("SELECT count(*) FROM _ids")
            self.counts["duplicates"] += events.num_rows - refused - new
            # 4. write: events aligned with their ids by position when nothing was removed or renamed
            #    (the ids table is in the batch's order), else joined on ord.
            aligned = new == events.num_rows and not repeated
            source = (
                "_b_events e POSITIONAL JOIN _ids i" if aligned else "_b_events e JOIN _ids i ON i.ord = e.ord"
            )
            con.execute(
                """
                INSERT INTO event_type (code, name)
                SELECT (SELECT coalesce(max(code), -1) FROM event_type) + row_number() OVER (ORDER BY first_ord), type
                FROM (SELECT type, min(ord) AS first_ord FROM _b_events GROUP BY type) n
                WHERE type NOT IN (SELECT name FROM event_type)
                """
            )
            con.execute(
                f"INSERT INTO event SELECT $base + e.ord, i.id, e.type, e.time, e.attributes, $run FROM {source}",
                {"base": self._event_base, "run": self.run_id},
            )
            if not aligned:  # only links of the events written
                kept = "SEMI JOIN _ids i ON i.ord = l.event_ord"
            elif _covers(events["ord"], links["event_ord"]):  # every link names an event of the batch
                kept = ""
            else:  # links naming no event of this batch are dropped
                kept = "SEMI JOIN _b_events e ON e.ord = l.event_ord"
            n_links = self._scalar(
                f"""
                INSERT INTO event_object
                SELECT DISTINCT $base + l.event_ord, l.object_code, l.qualifier FROM _lk l {kept}
                """,
                {"base": self._event_base},
            )
            self.counts["events"] += int(new)
            self.counts["links"] += int(n_links)
        finally:
            con.unregister("_b_events")
            con.unregister("_b_links")

    def _add_object_objects(self, rel: pa.Table) -> None:
        con = self.con
        con.register("_b_o2o", rel.append_column("_row", pa.array(np.arange(rel.num_rows, dtype=np.int64))))
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _o2o_s AS " + _resolve_sql("_b_o2o", "source_id", "source_type", "s_code")
            )
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _o2o AS " + _resolve_sql("_o2o_s", "target_id", "target_type", "t_code")
            )
            self._quarantine_sql(
                """
                SELECT 'object relation ' || (_row + 1) AS position,
                       CASE WHEN s_code_n = 0 THEN 'unknown object reference ' || to_json(source_id)::VARCHAR
                            WHEN s_code_n > 1 THEN 'ambiguous object reference ' || to_json(source_id)::VARCHAR
                            WHEN t_code_n = 0 THEN 'unknown object reference ' || to_json(target_id)::VARCHAR
                            ELSE 'ambiguous object reference ' || to_json(target_id)::VARCHAR END AS reason,
                       to_json({source_id: source_id, target_id: target_id, qualifier: qualifier})::VARCHAR AS record
                FROM (SELECT DISTINCT _row, source_id, target_id, qualifier, s_code_n, t_code_n FROM _o2o
                      WHERE s_code_n <> 1 OR t_code_n <> 1)
                """
            )
            n = con.execute(
                """
                INSERT INTO object_object
                SELECT DISTINCT s_code, t_code, qualifier FROM _o2o r
                WHERE s_code_n = 1 AND t_code_n = 1 AND NOT EXISTS (
                    SELECT 1 FROM object_object x WHERE x.source_code = r.s_code AND x.target_code = r.t_code
                    AND x.qualifier IS NOT DISTINCT FROM r.qualifier)
                """
            ).fetchall()[0][0]
            self.counts["links"] += int(n)
        finally:
            con.unregister("_b_o2o")

    def _add_object_changes(self, changes: pa.Table) -> None:
        con = self.con
        con.register("_b_chg", changes.append_column("_row", pa.array(np.arange(changes.num_rows, dtype=np.int64))))
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _chg AS " + _resolve_sql("_b_chg", "object_id", "object_type", "o_code")
            )
            self._quarantine_sql(
                """
                SELECT DISTINCT 'object change ' || (_row + 1) AS position,
                       CASE WHEN o_code_n = 0 THEN 'unknown object reference ' ELSE 'ambiguous object reference ' END
                       || to_json(object_id)::VARCHAR AS reason,
                       to_json({object_id: object_id, time: time, field: field, value: value})::VARCHAR AS record
                FROM _chg WHERE o_code_n <> 1
                """
            )
            con.execute(
                """
                INSERT INTO object_change
                SELECT DISTINCT o_code, time, field, value FROM _chg r
                WHERE o_code_n = 1 AND time IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM object_change x WHERE x.object_code = r.o_code AND x.time = r.time
                    AND x.field = r.field AND x.value IS NOT DISTINCT FROM r.value::JSON)
                """
            )
        finally:
            con.unregister("_b_chg")

    def finish(self) -> dict[str, int]:
        for name in ("_ids", "_rep", "_occ", "_lk", "_bad", "_o2o_s", "_o2o", "_chg"):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        return dict(self.counts)
