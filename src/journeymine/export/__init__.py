"""Exporters: write a store's events and objects as OCEL 2.0, XES or a Parquet layout."""

from __future__ import annotations

from ._ocel import write_ocel
from ._parquet import write_parquet
from ._xes import write_xes

__all__ = ["write_ocel", "write_parquet", "write_xes"]
