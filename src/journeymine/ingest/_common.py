"""Pieces every importer shares: source checks, UTC timestamps, JSON attribute columns, positions."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import FormatError, SourceNotFoundError

__all__ = ["check_source", "json_attributes", "read_gzip_or_plain", "to_utc_micros"]

TS = pa.timestamp("us")


def check_source(path: str | Path) -> Path:
    """The path as a :class:`Path`, or :class:`SourceNotFoundError` naming it."""
    p = Path(path)
    if not p.is_file():
        raise SourceNotFoundError(f"No file to import at {str(p)!r}", path=str(p))
    return p


def read_gzip_or_plain(path: Path) -> bytes:
    """The bytes of a file, gunzipped when it starts with the gzip magic; a broken gzip is a FormatError."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"{path.name} is not a complete gzip file: {exc}", path=str(path)) from exc
    return data


def to_utc_micros(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Any Arrow timestamp as UTC wall time without zone, microseconds (the store's time type)."""
    t = arr.type
    if not pa.types.is_timestamp(t):
        raise TypeError(f"expected a timestamp array, got {t}")
    if t.tz is not None:
        arr = arr.cast(pa.timestamp(t.unit, "UTC")).cast(pa.timestamp(t.unit))
    if t.unit == "ns":
        arr = pc.cast(arr, TS, safe=False)  # truncate sub-microseconds
    return arr.cast(TS)


def json_attributes(frame: pl.DataFrame, columns: list[str]) -> pa.Array:
    """One JSON object per row from the given columns (null when there are none); null values dropped
    from each object so sparse attributes stay small."""
    if not columns:
        return pa.nulls(frame.height, pa.string())
    exprs = []
    for name, c in zip(frame.columns, columns):  # by position: polars renames a column with an empty name
        dtype = frame.schema[name]
        col = pl.col(name)
        if dtype.is_temporal():
            col = col.dt.to_string("%Y-%m-%dT%H:%M:%S%.f")
        exprs.append(col.alias(c))
    encoded = frame.select(pl.struct(exprs).struct.json_encode().alias("a"))["a"]
    # drop "key":null members (the encoder writes them for missing values)
    encoded = encoded.str.replace_all(r'"(?:[^"\\]|\\.)*":null,?', "").str.replace_all(r",\}$", "}")
    encoded = pl.select(pl.when(encoded == "{}").then(None).otherwise(encoded)).to_series()
    return encoded.to_arrow().cast(pa.string())
