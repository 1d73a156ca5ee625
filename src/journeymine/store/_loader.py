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


class BatchLoader:
    def __init__(self, con, run_id: int):
        con.execute("CREATE OR REPLACE TEMP TABLE _keys (h VARCHAR, n BIGINT)")
        self.con = con
        self.run_id = run_id
        self.counts = {"events": 0, "objects": 0, "links": 0, "refused": 0, "duplicates": 0}
        self._event_base = con.execute("SELECT coalesce(max(code), -1) + 1 FROM event").fetchall()[0][0]

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

    def add(self, batch: Batch, *, more: bool = False) -> None:
        """Write one batch; ``more`` says further batches of the same import follow."""
        if batch.objects is not None:
            self.counts["objects"] += self._insert_objects(batch.objects)
        if batch.events is not None and batch.events.num_rows:
            self._add_events(batch.events, batch.event_objects, more)
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

    def _add_events(self, events: pa.Table, links: pa.Table | None, more: bool) -> None:
        con = self.con
        if links is None:
            links = pa.Table.from_batches([], schema=SCHEMAS["event_objects"])
        con.register("_b_events", events)
        con.register("_b_links", links.append_column("_row", pa.array(np.arange(links.num_rows, dtype=np.int64))))
        try:
            # 1. ids: given, or the content hash; repeats of a hash (in this import) get "-n" below.
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE _ev AS
                SELECT ord, coalesce(id, substr(md5(key), 1, 20)) AS id, id IS NULL AS hashed,
                       type, time, attributes
                FROM _b_events
                """
            )
            repeated = self._scalar(
                """
                CREATE OR REPLACE TEMP TABLE _rep AS
                SELECT id FROM _ev GROUP BY id HAVING count(*) > 1
                UNION SELECT h FROM _keys WHERE h IN (SELECT id FROM _ev WHERE hashed)
                """
            )
            if repeated:
                con.execute(
                    """
                    CREATE OR REPLACE TEMP TABLE _occ AS
                    SELECT ev.ord, ev.id || '-' || (row_number() OVER (PARTITION BY ev.id ORDER BY ev.ord)
                                                    - 1 + coalesce(k.n, 0)) AS new_id
                    FROM _ev ev SEMI JOIN _rep r ON r.id = ev.id LEFT JOIN _keys k ON k.h = ev.id
                    WHERE ev.hashed
                    """
                )
                con.execute(
                    """
                    UPDATE _ev SET id = CASE WHEN o.new_id LIKE '%-0' THEN _ev.id ELSE o.new_id END
                    FROM _occ o WHERE o.ord = _ev.ord
                    """
                )
            if more:  # remember content-hash counts for the next batches of this import
                con.execute(
                    """
                    INSERT INTO _keys SELECT split_part(id, '-', 1) AS h, count(*) FROM _ev WHERE hashed GROUP BY h
                    """
                )
                con.execute("CREATE OR REPLACE TEMP TABLE _keys AS SELECT h, sum(n)::BIGINT AS n FROM _keys GROUP BY h")
            # 2. resolve links to object codes; an unresolved or ambiguous link refuses its event.
            con.execute("CREATE OR REPLACE TEMP TABLE _lk AS " + _resolve_sql("_b_links", "object_id", "object_type", "object_code"))
            refused = self._scalar(
                "CREATE OR REPLACE TEMP TABLE _bad AS SELECT DISTINCT event_ord FROM _lk WHERE object_code_n <> 1"
            )
            if refused:
                self._quarantine_sql(
                    """
                    SELECT 'event ' || to_json(e.id)::VARCHAR || ' (record ' || (e.ord + 1) || ')' AS position,
                           string_agg(CASE WHEN l.object_code_n = 0 THEN 'unknown object reference '
                                           ELSE 'ambiguous object reference ' END
                                      || to_json(l.object_id)::VARCHAR
                                      || coalesce(' of type ' || to_json(l.object_type)::VARCHAR, ''), '; ') AS reason,
                           to_json({id: e.id, type: e.type, time: e.time, attributes: e.attributes::JSON})::VARCHAR
                               AS record
                    FROM _ev e JOIN (SELECT DISTINCT event_ord, object_id, object_type, object_code_n FROM _lk
                                     WHERE object_code_n <> 1) l ON l.event_ord = e.ord
                    GROUP BY e.ord, e.id, e.type, e.time, e.attributes
                    """
                )
                con.execute("DELETE FROM _ev WHERE ord IN (SELECT event_ord FROM _bad)")
            # 3. duplicates: a given id repeated in this import (first wins) or already in the store.
            if repeated:
                con.execute(
                    """
                    DELETE FROM _ev WHERE ord IN (
                        SELECT ord FROM (SELECT ord, row_number() OVER (PARTITION BY id ORDER BY ord) AS k FROM _ev
                                         WHERE id IN (SELECT id FROM _rep)) WHERE k > 1)
                    """
                )
            if self._event_base > 0 or self.counts["events"]:
                con.execute("DELETE FROM _ev WHERE id IN (SELECT id FROM event)")
            new = self._scalar("SELECT count(*) FROM _ev")
            self.counts["duplicates"] += events.num_rows - refused - new
            con.execute(
                """
                INSERT INTO event_type
                SELECT (SELECT coalesce(max(code), -1) FROM event_type) + row_number() OVER (ORDER BY first_ord), type
                FROM (SELECT type, min(ord) AS first_ord FROM _ev GROUP BY type) n
                WHERE type NOT IN (SELECT name FROM event_type)
                """
            )
            con.execute(
                "INSERT INTO event SELECT $base + ord, id, type, time, attributes, $run FROM _ev",
                {"base": self._event_base, "run": self.run_id},
            )
            n_links = self._scalar(
                """
                INSERT INTO event_object
                SELECT DISTINCT $base + l.event_ord, l.object_code, l.qualifier
                FROM _lk l SEMI JOIN _ev e ON e.ord = l.event_ord
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
        for name in ("_keys", "_ev", "_rep", "_occ", "_lk", "_bad", "_o2o_s", "_o2o", "_chg"):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
        return dict(self.counts)
