"""Importers: every source becomes batches of events, objects and links for ``Store.load``."""

from __future__ import annotations

from ._tabular import read_csv, read_frame, read_parquet

__all__ = ["read_csv", "read_frame", "read_parquet"]
