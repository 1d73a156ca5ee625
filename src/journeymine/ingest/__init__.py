"""Importers: every source becomes batches of events, objects and links for ``Store.load``."""

from __future__ import annotations

from ._dispatch import guess_format, read
from ._ocel import read_ocel
from ._tabular import read_csv, read_frame, read_parquet
from ._xes import read_xes

__all__ = ["guess_format", "read", "read_csv", "read_frame", "read_ocel", "read_parquet", "read_xes"]
