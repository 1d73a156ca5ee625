"""``read``: import any supported file, the format taken from its name unless given."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..store import ImportReport, Store
from ._ocel import SUFFIXES as OCEL_SUFFIXES

__all__ = ["FORMATS", "guess_format", "read"]

FORMATS = ("xes", "ocel", "csv", "parquet")

_SUFFIXES = {
    ".xes": "xes", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".ocel": "ocel", **{suffix: "ocel" for suffix in OCEL_SUFFIXES},
}


def guess_format(path: str | Path) -> str:
    """The import format for a file name (``.gz`` looked through), or ConfigError listing the choices."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _SUFFIXES.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise ConfigError(
            f"The format of {str(path)!r} cannot be told from its name; pass format= one of {list(FORMATS)}."
        )
    return fmt


def read(path: str | Path, store: Store, *, format: str | None = None, **options) -> ImportReport:
    """Import a file into the store with the reader for its format (``xes``, ``ocel``, ``csv`` or
    ``parquet``); ``options`` go to that reader (column mapping for csv/parquet)."""
    fmt = format or guess_format(path)
    if fmt == "xes":
        from ._xes import read_xes

        return read_xes(path, store, **options)
    if fmt == "ocel":
        from ._ocel import read_ocel

        return read_ocel(path, store, **options)
    if fmt == "csv":
        from ._tabular import read_csv

        return read_csv(path, store, **options)
    if fmt == "parquet":
        from ._tabular import read_parquet

        return read_parquet(path, store, **options)
    raise ConfigError(f"The format parameter of read must be one of {list(FORMATS)}. Got {fmt!r} instead.")
