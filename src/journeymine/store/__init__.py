"""The event store: schema, backends and the load/read API. The only package that imports a driver."""

from __future__ import annotations

from pathlib import Path

from ._batch import SCHEMAS, Batch, ImportReport
from ._schema import SCHEMA_VERSION, TABLES
from ._store import Store, StoreInfo

__all__ = ["SCHEMAS", "SCHEMA_VERSION", "TABLES", "Batch", "ImportReport", "Store", "StoreInfo", "connect", "connect_spark"]


def connect(path: str | Path = ":memory:", *, read_only: bool = False, memory_limit: str | None = None) -> Store:
    """Open (or create) a store in an embedded DuckDB file; ``":memory:"`` for a throwaway one.

    An older store file is migrated to the current schema on open. ``memory_limit`` caps DuckDB's
    buffer memory (e.g. ``"4GB"``); by default it is half the machine's memory, not DuckDB's 80 %, so
    the Python side of a large import or simulation has room (DuckDB spills to disk beyond the cap).

    >>> import journeymine as jm
    >>> with jm.connect(":memory:") as store:
    ...     store.info().events
    0
    """
    from ._duckdb import DuckDBBackend

    return Store(DuckDBBackend(path, read_only=read_only, memory_limit=memory_limit))


def connect_spark(parquet_dir: str | Path, spark=None) -> Store:
    """Open a read-only store over the Parquet layout written by :func:`journeymine.write_parquet`,
    on a given ``SparkSession``, else the one running in this process, else a new local one
    (``local[2]``). ``close()`` drops the store's views; it never stops the process's Spark session."""
    from ._spark import SparkBackend

    return Store(SparkBackend(parquet_dir, spark=spark))
