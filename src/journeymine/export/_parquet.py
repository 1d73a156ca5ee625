"""The Parquet layout of a store: what :func:`journeymine.connect_spark` (and any Parquet reader) opens.

One folder per table of :data:`journeymine.store.TABLES`, written with pyarrow (zstd), plus a manifest
``_journeymine.json``::

    out_dir/
      _journeymine.json
      event/part-00000.parquet
      object/object_type=customer/part-00000.parquet
      object/object_type=order/part-00000.parquet
      event_object/object_type=customer/part-00000.parquet
      seq/object_type=customer/part-00000.parquet
      ...

Layout rules (layout version 1):

- ``object``, ``event_object`` and ``seq`` are partitioned hive style by object type. The partition
  column is named ``object_type`` in the path and is *not* repeated inside the files (as Spark's own
  ``partitionBy`` does). For ``object`` it is the table's ``type`` column, for ``seq`` its
  ``object_type`` column, and for ``event_object`` it is the type of the linked object, joined in from
  ``object`` (the table itself has no type column). Partition values are escaped the way Spark escapes
  them (``%XX`` for ``/``, ``=``, ``%``, ``:`` and the other characters Spark escapes); the empty type
  is written as ``__HIVE_DEFAULT_PARTITION__`` (Spark and pyarrow read that back as null, so readers
  map null to ``""``: the column is NOT NULL in the store).
- Every other table is one unpartitioned folder. A table without rows is still written as one file
  with zero rows, so the schema is in the Parquet itself; an empty partitioned table is one zero-row
  file at the folder root (its schema without the partition column).
- Types are the store's: ``BIGINT`` as int64, ``INTEGER`` as int32, ``VARCHAR`` and ``JSON`` as string
  (JSON stays JSON text), ``TIMESTAMP`` as ``timestamp[us]`` without zone (Parquet
  ``isAdjustedToUTC=false``: UTC wall time; Spark reads it as ``TIMESTAMP_NTZ``), ``DOUBLE`` as double.
- Within each ``seq`` partition rows keep the store's maintained order
  ``(object_code, time, event_code)``; ``object`` partitions are in ``code`` order and
  ``event_object`` partitions in ``(event_code, object_code)`` order. Other tables are in the order
  :meth:`Store.scan` yields.

The manifest records ``format`` (``"journeymine-parquet"``), ``layout_version``, ``schema_version``,
``journeymine_version``, ``written_at`` (UTC, ISO 8601) and, per table in export order, ``rows``, the
logical ``columns`` (name and Arrow type, in the store's column order) and, for the partitioned tables,
``partition`` = ``{"column": "object_type", "as": <logical column or null>, "rows": {type: rows}}``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ExportError
from ..store import SCHEMA_VERSION, TABLES
from ..store._results import canonical_type
from ..store._schema import LAYOUT_FORMAT, LAYOUT_VERSION, MANIFEST

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)

__all__ = ["LAYOUT_FORMAT", "LAYOUT_VERSION", "MANIFEST", "PARTITION_COLUMN", "PARTITIONED", "write_parquet"]

PARTITION_COLUMN = "object_type"
# table -> the logical column that holds the object type (None: joined in from ``object``).
PARTITIONED: dict[str, str | None] = {"object": "type", "event_object": None, "seq": "object_type"}
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

_FILE = "part-00000.parquet"
_ROWS_PER_BATCH = 1_000_000
# Spark's ExternalCatalogUtils.charToEscape (non-Windows), plus DEL and the control characters.
_ESCAPE = frozenset('"#%\'*/:=?\\{[]^\x7f') | frozenset(chr(c) for c in range(0x20))


def partition_dir(value: str) -> str:
    """The hive folder name for one object type, escaped as Spark escapes partition values.

    >>> partition_dir("order")
    'object_type=order'
    >>> partition_dir("a/b=c")
    'object_type=a%2Fb%3Dc'
    >>> partition_dir("")
    'object_type=__HIVE_DEFAULT_PARTITION__'
    """
    if value == "":
        return f"{PARTITION_COLUMN}={NULL_PARTITION}"
    escaped = "".join(f"%{ord(c):02X}" if c in _ESCAPE else c for c in value)
    if escaped == NULL_PARTITION:  # the literal type name must not read back as null
        escaped = "%5F" + escaped[1:]
    return f"{PARTITION_COLUMN}={escaped}"


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, canonical_type(f.type)) for f in schema])


class _PartitionWriter:
    """Streams record batches into one Parquet file per partition value, opened on first use."""

    def __init__(self, folder: Path, schema: pa.Schema):
        self.folder = folder
        self.schema = schema  # the file schema: without the partition column
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows: dict[str, int] = {}

    def write(self, value: str, table: pa.Table | pa.RecordBatch) -> None:
        if value not in self.writers:
            path = self.folder / partition_dir(value) / _FILE
            try:
                path.parent.mkdir()
            except FileExistsError:
                raise ExportError(
                    f"Object type {value!r} needs the folder {path.parent.name!r}, which another type already "
                    "uses on this case-insensitive file system; write the layout to a case-sensitive one"
                ) from None
            self.writers[value] = pq.ParquetWriter(path, self.schema, compression="zstd")
            self.rows[value] = 0
        if table.num_rows:
            self.writers[value].write(table)
            self.rows[value] += table.num_rows

    def close(self) -> dict[str, int]:
        for writer in self.writers.values():
            writer.close()
        if not self.writers:  # empty table: one zero-row file keeps the schema
            pq.write_table(self.schema.empty_table(), self.folder / _FILE, compression="zstd")
        return dict(sorted(self.rows.items()))


def _schema_of(store: Store, table: str) -> pa.Schema:
    return _plain_schema(store.query(f'SELECT * FROM "{table}" LIMIT 0').schema)


def _batches(store: Store, table: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in store.scan(table, _ROWS_PER_BATCH):
        yield batch.cast(schema) if batch.schema != schema else batch


def _write_plain(store: Store, table: str, folder: Path, schema: pa.Schema) -> int:
    rows = 0
    with pq.ParquetWriter(folder / _FILE, schema, compression="zstd") as writer:
        for batch in _batches(store, table, schema):
            writer.write_batch(batch)
            rows += batch.num_rows
        if rows == 0:
            writer.write_table(schema.empty_table())
    return rows


class _SortCheck:
    """Checks that the rows of each partition arrive in ``keys`` order, across batches."""

    def __init__(self, keys: list[str]):
        self.keys = keys
        self.last: dict[str, tuple] = {}

    def check(self, value: str, part: pa.RecordBatch) -> None:
        if part.num_rows == 0:
            return
        cols = [np.asarray(part.column(k).cast(pa.int64()) if pa.types.is_timestamp(part.column(k).type)
                           else part.column(k)).astype(np.int64) for k in self.keys]
        if value in self.last:
            cols = [np.concatenate([[prev], c]) for prev, c in zip(self.last[value], cols)]
        # rows i, i+1 are in order unless some key is smaller while all keys before it are equal
        bad = np.zeros(len(cols[0]) - 1, dtype=bool)
        equal_so_far = np.ones(len(cols[0]) - 1, dtype=bool)
        for c in cols:
            bad |= equal_so_far & (c[1:] < c[:-1])
            equal_so_far &= c[1:] == c[:-1]
        if bad.any():
            raise ExportError(
                f"The store's seq projection is not in its maintained order (object_code, time, event_code) "
                f"in partition {value!r}; reopen the store writable to rebuild it"
            )
        self.last[value] = tuple(int(c[-1]) for c in cols)


def _write_by_column(store: Store, table: str, folder: Path, schema: pa.Schema, column: str) -> dict[str, int]:
    """Stream a table that holds the object type in ``column``, one partition per type."""
    file_schema = schema.remove(schema.get_field_index(column))
    writer = _PartitionWriter(folder, file_schema)
    sort_check = _SortCheck(["object_code", "time", "event_code"]) if table == "seq" else None
    try:
        for batch in _batches(store, table, schema):
            types = batch.column(column)
            for value in pc.unique(types).to_pylist():
                part = batch.filter(pc.equal(types, pa.scalar(value, types.type)))
                part = part.drop_columns([column])
                if sort_check is not None:
                    sort_check.check(value, part)
                writer.write(value, part)
    finally:
        rows = writer.close()
    return rows


def _write_event_object(store: Store, folder: Path, schema: pa.Schema) -> dict[str, int]:
    """``event_object`` with the linked object's type joined in: one query per object type."""
    writer = _PartitionWriter(folder, schema)
    cols = ", ".join(f'eo."{name}"' for name in schema.names)
    try:
        types = store.query("SELECT DISTINCT type FROM object ORDER BY type").column(0).to_pylist()
        for value in types:
            part = store.query(
                f"""SELECT {cols} FROM event_object eo JOIN object o ON o.code = eo.object_code
                    WHERE o.type = $t ORDER BY eo.event_code, eo.object_code, eo.qualifier""",
                {"t": value},
            )
            if part.num_rows:
                writer.write(value, part.cast(schema) if part.schema != schema else part)
    finally:
        rows = writer.close()
    total = store.query("SELECT count(*) FROM event_object").column(0)[0].as_py()
    if sum(rows.values()) != total:
        raise ExportError(
            f"event_object has {total} links but only {sum(rows.values())} point to a stored object; "
            "the store is inconsistent"
        )
    return rows


def _version() -> str:
    try:
        from .. import __version__  # lazy: the package imports export while it initialises
    except ImportError:  # pragma: no cover - only when imported outside the package
        from importlib.metadata import version

        return version("journeymine")
    return __version__


def _prepare(out: Path, overwrite: bool) -> bool:
    """Check ``out`` may be written; returns whether an existing layout is to be replaced."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"The out_dir of write_parquet must be a folder; {str(out)!r} is a file")
    if not out.exists() or not any(out.iterdir()):
        return False
    if not overwrite:
        raise ExportError(
            f"The out_dir {str(out)!r} of write_parquet is not empty; pass overwrite=True to replace a "
            "Parquet layout written earlier, or choose an empty folder"
        )
    if not (out / MANIFEST).is_file():
        raise ExportError(
            f"The out_dir {str(out)!r} of write_parquet is not empty and holds no journeymine Parquet "
            f"layout ({MANIFEST} is missing); overwrite=True only replaces a layout written earlier"
        )
    return True


def _move_into_place(tmp: Path, out: Path, replace: bool) -> None:
    """Rename the finished layout to ``out``; an earlier layout is set aside first and deleted last."""
    if not replace:
        if out.exists():
            out.rmdir()  # empty, checked by _prepare
        os.replace(tmp, out)
        return
    old = out.parent / f".{out.name}.{secrets.token_hex(6)}.old"
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old)


def write_parquet(store: Store, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> dict[str, object]:
    """Write the store's tables as the journeymine Parquet layout in ``out_dir``; return the manifest.

    One folder per table of ``journeymine.store.TABLES`` (zstd Parquet), ``object``, ``event_object`` and
    ``seq`` partitioned hive style by object type (``object_type=<type>/``), and the manifest
    ``_journeymine.json`` (schema version, tables with row counts and columns, journeymine version);
    see the module documentation for the exact layout. :func:`journeymine.connect_spark` opens it.

    ``out_dir`` is created if missing. A non-empty ``out_dir`` raises
    :class:`~journeymine.errors.ExportError`, unless ``overwrite=True`` and it holds a layout written
    earlier (it has the manifest), which is then replaced; a non-empty folder that is not a layout is
    never deleted. The layout is written into a hidden sibling folder (``.<name>.<random>.tmp``) and
    renamed into place at the end, so a failed export leaves ``out_dir`` as it was.

    The store is only read (a read-only store, DuckDB or Spark, can be exported).
    """
    out = Path(out_dir)
    replace = _prepare(out, overwrite)
    schema_version = store.backend.schema_version()
    if schema_version != SCHEMA_VERSION:
        raise ExportError(
            f"The store has schema version {schema_version}; write_parquet writes version {SCHEMA_VERSION}. "
            "Open the store writable once to migrate it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()  # permissions from the umask, as out_dir itself would get
    try:
        tables: dict[str, dict[str, object]] = {}
        for table in TABLES:
            folder = tmp / table
            folder.mkdir()
            schema = _schema_of(store, table)
            entry: dict[str, object] = {
                "rows": 0,
                "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
            }
            if table in PARTITIONED:
                source = PARTITIONED[table]
                if source is None:
                    parts = _write_event_object(store, folder, schema)
                else:
                    parts = _write_by_column(store, table, folder, schema, source)
                entry["rows"] = sum(parts.values())
                entry["partition"] = {"column": PARTITION_COLUMN, "as": source, "rows": parts}
            else:
                entry["rows"] = _write_plain(store, table, folder, schema)
            tables[table] = entry
            log.debug("wrote %s: %d rows", table, entry["rows"])
        manifest: dict[str, object] = {
            "format": LAYOUT_FORMAT,
            "layout_version": LAYOUT_VERSION,
            "schema_version": schema_version,
            "journeymine_version": _version(),
            "written_at": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z",
            "tables": tables,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        _move_into_place(tmp, out, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote Parquet layout %s: %s", out, ", ".join(f"{t} {e['rows']}" for t, e in tables.items()))
    return manifest
