"""The store schema (OCEL 2.0 shaped, integer-keyed) and its migrations.

Logical model (DESIGN.md): events, objects, event-object links with qualifiers, object-object links,
object attribute changes, identity aliases, import runs and the quarantine. Physically every event and
object also has an integer ``code`` (assigned in load order) so links and the sequence projection are
compact integer columns; the string ids stay in ``event`` and ``object``.

``seq`` is the maintained projection the sequence analyses scan: one row per (canonical object, event),
physically ordered by ``(object_type, object_code, time, event_code)``, with integer-coded event types
(``event_type``, which also counts the events of each type). Canonical means aliases are resolved: an anonymous visitor merged into a customer is
listed under the customer. It is rebuilt in the same transaction as every write.

Migrations are numbered; a store records its version in ``meta``. Opening an older file applies the
missing steps in one transaction; opening a newer one fails with :class:`SchemaVersionError`.
"""

from __future__ import annotations

__all__ = ["LAYOUT_FORMAT", "LAYOUT_VERSION", "MANIFEST", "MIGRATIONS", "SCHEMA_VERSION", "TABLES"]

MIGRATIONS: dict[int, list[str]] = {
    # 1: the OCEL 2.0 tables, import runs and quarantine.
    1: [
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        """CREATE TABLE event (
            code BIGINT NOT NULL, id VARCHAR NOT NULL, type VARCHAR NOT NULL,
            time TIMESTAMP NOT NULL, attributes JSON, run_id INTEGER NOT NULL)""",
        """CREATE TABLE object (
            code BIGINT NOT NULL, type VARCHAR NOT NULL, id VARCHAR NOT NULL,
            attributes JSON, run_id INTEGER NOT NULL)""",
        "CREATE TABLE event_object (event_code BIGINT NOT NULL, object_code BIGINT NOT NULL, qualifier VARCHAR)",
        "CREATE TABLE object_object (source_code BIGINT NOT NULL, target_code BIGINT NOT NULL, qualifier VARCHAR)",
        """CREATE TABLE object_change (
            object_code BIGINT NOT NULL, time TIMESTAMP NOT NULL, field VARCHAR NOT NULL, value JSON)""",
        """CREATE TABLE alias (
            source_code BIGINT NOT NULL, target_code BIGINT NOT NULL, merged_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE import_run (
            id INTEGER NOT NULL, source VARCHAR, format VARCHAR, started_at TIMESTAMP, seconds DOUBLE,
            events_imported BIGINT, objects_imported BIGINT, links_imported BIGINT, refused BIGINT,
            duplicates_skipped BIGINT, parameters JSON)""",
        "CREATE TABLE quarantine (run_id INTEGER NOT NULL, position VARCHAR, reason VARCHAR, record VARCHAR)",
    ],
    # 2: integer-coded event types and the (object, time)-ordered sequence projection.
    2: [
        "CREATE TABLE event_type (code INTEGER NOT NULL, name VARCHAR NOT NULL)",
        """INSERT INTO event_type
           SELECT row_number() OVER (ORDER BY min(code)) - 1, type FROM event GROUP BY type""",
        """CREATE TABLE seq (
            object_type VARCHAR NOT NULL, object_code BIGINT NOT NULL, time TIMESTAMP NOT NULL,
            type_code INTEGER NOT NULL, event_code BIGINT NOT NULL)""",
        "INSERT INTO meta VALUES ('seq_dirty', 'true')",
    ],
    # 3: the number of events of each type, kept with the projection (funnels report what they ignore).
    3: [
        "ALTER TABLE event_type ADD COLUMN events BIGINT",
        "INSERT OR REPLACE INTO meta VALUES ('seq_dirty', 'true')",
    ],
}

SCHEMA_VERSION = max(MIGRATIONS)

# Tables of the current schema in export order (also the Parquet layout's table names).
TABLES = (
    "event",
    "object",
    "event_object",
    "object_object",
    "object_change",
    "alias",
    "event_type",
    "seq",
    "import_run",
    "quarantine",
)

# The Parquet layout (``jm.write_parquet``, read by the Spark backend): one folder per table of TABLES,
# plus a manifest file naming the format, its version and the schema version.
MANIFEST = "_journeymine.json"
LAYOUT_FORMAT = "journeymine-parquet"
LAYOUT_VERSION = 1
