"""The Spark backend: a read-only store over the Parquet layout written by ``jm.write_parquet``.

This module and :mod:`._duckdb` are the only code that imports a database driver (``pyspark``, imported
lazily so that importing journeymine never starts a JVM).

Queries are written once, in the portable subset of DuckDB SQL with ``$name`` parameters; this backend
transpiles them with sqlglot (``read="duckdb", write="spark"``, every identifier quoted, unsupported
constructs raise instead of being dropped) and runs them with ``spark.sql(sql, args=params)`` on a
session of its own.

Isolation: every backend works in its own ``SparkSession.newSession()`` of the given (or local)
session: it shares the SparkContext and its cache, but has its own SQL configuration and its own
temporary views. The tables are registered there under their plain names (``event``, ``object``, ...)
so the SQL reads as on DuckDB; the caller's session sees none of them and keeps its own settings. The
backend session sets ``spark.sql.session.timeZone=UTC``, ``spark.sql.ansi.enabled=true`` and plain
(non-large) Arrow string types.

Result types (:func:`normalise_result`, applied to every query and scan result) are those of the DuckDB
backend for the same query: ``count(*)`` int64, ``INTEGER`` columns int32, ``BIGINT`` int64, strings
``string`` (not ``large_string``), timestamps ``timestamp[us]`` without zone holding UTC wall time
(Spark's zoned ``TIMESTAMP`` results, e.g. of a ``CAST(... AS TIMESTAMP)``, are converted to UTC and
lose the zone), every field nullable and without Spark's field metadata. Column names of unaliased
expressions are engine-specific (``count_star()`` vs ``count(1)``): alias computed columns.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ..errors import BackendError, ConfigError, SchemaVersionError, StoreError, StoreNotFoundError
from ._results import normalise_result
from ._schema import LAYOUT_FORMAT, LAYOUT_VERSION, MANIFEST, SCHEMA_VERSION, TABLES

log = logging.getLogger(__name__)

__all__ = ["SparkBackend", "local_session", "normalise_result", "to_spark_sql"]

# The Parquet layout contract (journeymine.export._parquet writes it and imports these).

# Manifest column types (Arrow type names) -> Spark SQL types of the read schema.
_SPARK_TYPES = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "string": "STRING",
    "binary": "BINARY",
    "date32[day]": "DATE",
    "timestamp[us]": "TIMESTAMP_NTZ",
}

# The order scan() yields: seq in its maintained order, the others by their key (which is the DuckDB
# backend's stored order for event, object, event_type and import_run).
_SCAN_ORDER = {
    "event": ("code",),
    "object": ("code",),
    "event_object": ("event_code", "object_code"),
    "object_object": ("source_code", "target_code"),
    "object_change": ("object_code", "time"),
    "alias": ("merged_at", "source_code"),
    "event_type": ("code",),
    "seq": ("object_type", "object_code", "time", "event_code"),
    "import_run": ("id",),
    "quarantine": ("run_id",),
}

# The local session built when none is given, shared by every backend that did not get one and stopped
# when the last of them closes.


# -- result types ---------------------------------------------------------------------------------------
# -- SQL ------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def to_spark_sql(sql: str) -> str:
    """Transpile one statement of portable SQL (DuckDB dialect, ``$name`` parameters) to Spark SQL.

    Identifiers are all quoted (``event``, ``object``, ``time`` are keywords in Spark SQL); ``$name``
    becomes ``:name``. A construct sqlglot cannot express in Spark SQL raises
    :class:`~journeymine.errors.BackendError` instead of being silently changed.

    >>> to_spark_sql("SELECT type, count(*) AS n FROM object WHERE type = $t GROUP BY type")
    'SELECT `type`, COUNT(*) AS `n` FROM `object` WHERE `type` = :t GROUP BY `type`'
    """
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        if len(statements) != 1:
            raise BackendError(f"A store query is one statement; got {len(statements)}: {sql!r}")
        return statements[0].sql(dialect="spark", identify=True, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise BackendError(f"Cannot translate the query to Spark SQL: {exc}") from exc


def _arg(value: object) -> object:
    """A query parameter as Spark should see it: datetimes as instants in UTC.

    PySpark reads a naive ``datetime`` in the Python process's local zone; the store's timestamps are
    naive UTC, so a naive value is taken as UTC (as DuckDB's ``TIMESTAMP`` does) and an aware one is
    converted to UTC.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value


# -- sessions -------------------------------------------------------------------------------------------
def local_session():
    """Build (or get) the local SparkSession used when none is given.

    ``local[2]``, UTC session time zone, 4 shuffle partitions, no UI or console progress bar, 1 GiB
    driver heap, driver bound to 127.0.0.1, JVM log level ERROR, the (empty) SQL warehouse folder in
    the temporary folder rather than the working folder. Call it when no SparkContext runs in
    this process: Spark allows one per process and would return the running session with these SQL
    settings and the log level applied to it (:class:`SparkBackend` checks this before calling).
    """
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("journeymine")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.execution.arrow.useLargeVarTypes", "false")
        # the catalog creates its (unused, empty) warehouse folder on first use: not in the working folder
        .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "journeymine-spark-warehouse"))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def _default_session():
    """The session to use when none is given: the one running in this process, else a new local one.

    Spark keeps one SparkContext per process; a store never stops it (the session belongs to the
    process, not to the store): stop it with ``session.stop()`` when done, or let the process end."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    log.info("starting a local Spark session (local[2])")
    return local_session()


# -- files ----------------------------------------------------------------------------------------------
class _LocalFiles:
    """The layout on the local file system."""

    @staticmethod
    def is_dir(path: str) -> bool:
        return Path(path).is_dir()

    @staticmethod
    def read_text(path: str) -> str:
        return Path(path).read_text(encoding="utf-8")


class _HadoopFiles:
    """The layout at a URI, through the Hadoop file system of the session's SparkContext (so ``s3a://``,
    ``hdfs://``... work as they do for Spark). Spark's readers skip files named ``_*``, which is why the
    manifest is not read with ``spark.read``. Needs a classic (py4j) session, not Spark Connect."""

    def __init__(self, session):
        try:
            context = session.sparkContext
            self._jvm, self._conf = context._jvm, context._jsc.hadoopConfiguration()
        except Exception as exc:  # Spark Connect: no SparkContext on the client
            raise StoreError("Opening a Parquet layout by URI needs a classic SparkSession (not Spark Connect); "
                             "pass a local path instead") from exc

    def _fs(self, path: str):
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        return jpath, jpath.getFileSystem(self._conf)

    def is_dir(self, path: str) -> bool:
        try:
            jpath, fs = self._fs(path)
            return bool(fs.exists(jpath) and fs.getFileStatus(jpath).isDirectory())
        except Exception as exc:  # py4j errors: unknown scheme, no credentials...
            raise StoreError(f"Cannot read {path!r} with Spark's file systems: {exc}", path=path) from exc

    def read_text(self, path: str) -> str:
        jpath, fs = self._fs(path)
        stream = fs.open(jpath)
        try:
            return self._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
        finally:
            stream.close()


# -- the backend ----------------------------------------------------------------------------------------
def _spark_errors() -> tuple[type[BaseException], ...]:
    from pyspark.errors import PySparkException

    errors: list[type[BaseException]] = [PySparkException]
    try:
        from py4j.protocol import Py4JError

        errors.append(Py4JError)
    except ImportError:  # Spark Connect without py4j
        pass
    return tuple(errors)


class SparkBackend:
    """A read-only store over a journeymine Parquet layout, queried with Spark SQL.

    ``parquet_dir`` is a folder written by :func:`journeymine.write_parquet` (a local path, or a URI with
    a scheme such as ``file://`` or ``s3a://`` that the Spark session can read). ``spark`` is the
    SparkSession to run on; without one, a local one is started (:func:`local_session`) and stopped
    when the last backend using it closes. Opening reads the manifest ``_journeymine.json`` and
    registers every table of ``TABLES`` as a temporary view, under its own name, in a new session of
    its own (see the module documentation).

    Raises :class:`~journeymine.errors.StoreNotFoundError` when the folder does not exist,
    :class:`~journeymine.errors.StoreError` when it is not a journeymine layout (no or unreadable
    manifest, missing table folder, unknown layout version or older schema) and
    :class:`~journeymine.errors.SchemaVersionError` when it was written by a newer journeymine.
    """

    name = "spark"
    dialect = "spark"
    read_only = True

    def __init__(self, parquet_dir: str | Path, spark=None):
        self.path = str(parquet_dir)
        self._remote = "://" in self.path
        if not self._remote:
            if not Path(self.path).is_dir():
                raise StoreNotFoundError(
                    f"No journeymine Parquet layout at {self.path!r}: the folder does not exist "
                    "(write one with jm.write_parquet)", path=self.path,
                )
            self.path = str(Path(self.path).resolve())
        self._errors = _spark_errors()
        self.session = None
        parent = _default_session() if spark is None else spark
        try:
            self._files = _HadoopFiles(parent) if self._remote else _LocalFiles()
            if not self._files.is_dir(self.path):
                raise StoreNotFoundError(
                    f"No journeymine Parquet layout at {self.path!r}: the folder does not exist "
                    "(write one with jm.write_parquet)", path=self.path,
                )
            self.manifest = self._read_manifest()
            self.session = self._new_session(parent)
            self._register()
        except BaseException:
            self.close()
            raise

    # -- opening ------------------------------------------------------------------------------------
    def _join(self, *parts: str) -> str:
        return "/".join([self.path.rstrip("/"), *parts])

    def _read_manifest(self) -> dict:
        not_layout = (f"{self.path!r} is not a journeymine Parquet layout: {MANIFEST} is missing or unreadable "
                      "(write one with jm.write_parquet)")
        try:
            manifest = json.loads(self._files.read_text(self._join(MANIFEST)))
        except (OSError, ValueError, *self._errors) as exc:
            raise StoreError(not_layout, path=self.path) from exc
        if not isinstance(manifest, dict) or manifest.get("format") != LAYOUT_FORMAT:
            raise StoreError(not_layout, path=self.path)
        if manifest.get("layout_version") != LAYOUT_VERSION:
            raise StoreError(
                f"The Parquet layout at {self.path!r} has layout version {manifest.get('layout_version')!r}; "
                f"this journeymine reads version {LAYOUT_VERSION}. Export the store again",
                path=self.path,
            )
        version = manifest.get("schema_version")
        if not isinstance(version, int):
            raise StoreError(not_layout, path=self.path)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"The Parquet layout at {self.path!r} has schema version {version}; this journeymine reads up "
                f"to {SCHEMA_VERSION}. Upgrade journeymine to open it.",
                found=version, supported=SCHEMA_VERSION,
            )
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"The Parquet layout at {self.path!r} has schema version {version}, older than {SCHEMA_VERSION}; "
                "a Parquet layout cannot be migrated: open the DuckDB store with this journeymine and export "
                "it again",
                path=self.path,
            )
        tables = manifest.get("tables")
        missing = [t for t in TABLES if not isinstance(tables, dict) or t not in tables]
        if missing:
            raise StoreError(f"The Parquet layout at {self.path!r} lacks table(s) {missing} in {MANIFEST}",
                             path=self.path)
        absent = [t for t in TABLES if not self._files.is_dir(self._join(t))]
        if absent:
            raise StoreError(f"The Parquet layout at {self.path!r} lacks the folder(s) of {absent}", path=self.path)
        return manifest

    def _new_session(self, parent):
        try:
            session = parent.newSession()
        except self._errors + (AttributeError, NotImplementedError) as exc:
            # Spark Connect before 4.3 has no newSession: work in the given session itself.
            log.warning("SparkSession.newSession() is not available (%s); registering the store's views "
                        "and setting UTC in the given session", exc)
            session = parent
        session.conf.set("spark.sql.session.timeZone", "UTC")
        session.conf.set("spark.sql.ansi.enabled", "true")
        session.conf.set("spark.sql.execution.arrow.useLargeVarTypes", "false")
        return session

    def _register(self) -> None:
        for table in TABLES:
            entry = self.manifest["tables"][table]
            partition = entry.get("partition")
            read_cols: list[str] = []
            select: list[str] = []
            for column in entry["columns"]:
                name, type_name = column["name"], column["type"]
                spark_type = _SPARK_TYPES.get(type_name)
                if spark_type is None:
                    raise StoreError(f"Column {table}.{name} of the Parquet layout at {self.path!r} has type "
                                     f"{type_name!r}, which the Spark backend does not read", path=self.path)
                if partition and name == partition["as"]:
                    # the type lives in the path; null is the empty type (the column is NOT NULL)
                    select.append(f"coalesce(`{partition['column']}`, '') AS `{name}`")
                else:
                    read_cols.append(f"`{name}` {spark_type}")
                    select.append(f"`{name}`")
            if partition:
                read_cols.append(f"`{partition['column']}` STRING")
            try:
                frame = self.session.read.schema(", ".join(read_cols)).parquet(self._join(table))
                frame.selectExpr(*select).createOrReplaceTempView(table)
            except self._errors as exc:
                raise StoreError(f"Cannot read table {table} of the Parquet layout at {self.path!r}: {exc}",
                                 path=self.path) from exc

    # -- the Backend protocol -----------------------------------------------------------------------
    def schema_version(self) -> int:
        """The schema version recorded in the layout's manifest."""
        return int(self.manifest["schema_version"])

    def _live(self):
        if self.session is None:
            raise BackendError(f"The spark store {self.path!r} is closed")
        return self.session

    def query(self, sql: str, params: dict[str, object] | None = None) -> pa.Table:
        """Run one SELECT in the portable subset (DuckDB dialect, ``$name`` parameters) on Spark.

        Returns the result as an Arrow table with the types the DuckDB backend returns
        (:func:`normalise_result`). Translation and Spark errors raise
        :class:`~journeymine.errors.BackendError`.
        """
        session = self._live()
        spark_sql = to_spark_sql(sql)
        args = {name: _arg(value) for name, value in (params or {}).items()}
        try:
            result = session.sql(spark_sql, args=args or None).toArrow()
        except self._errors as exc:
            raise BackendError(f"Spark query failed: {exc}") from exc
        return normalise_result(result)

    def scan(self, table: str, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield a whole table as Arrow record batches of at most ``batch_size`` rows.

        ``seq`` comes in its maintained order ``(object_type, object_code, time, event_code)``; the other
        tables in key order (``event``, ``object``, ``event_type`` by ``code``, ``import_run`` by ``id``,
        the link tables by their codes). The table is collected to the driver as one Arrow table first.
        """
        if table not in TABLES:
            raise ConfigError(f"The table parameter of scan must be one of {list(TABLES)}. Got {table!r} instead.")
        session = self._live()
        try:
            result = session.table(table).orderBy(*_SCAN_ORDER[table]).toArrow()
        except self._errors as exc:
            raise BackendError(f"Spark scan of {table} failed: {exc}") from exc
        yield from normalise_result(result).to_batches(max_chunksize=batch_size)

    def close(self) -> None:
        """Drop this backend's views and its own session; the process's Spark session keeps running."""
        if self.session is None:
            return
        try:
            for table in TABLES:
                self.session.catalog.dropTempView(table)
        except self._errors as exc:  # a stopped SparkContext: nothing left to drop
            log.debug("could not drop the views of %s: %s", self.path, exc)
        self.session = None
