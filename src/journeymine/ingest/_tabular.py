"""Importing tables: pandas/polars DataFrames, Arrow tables, CSV and Parquet files.

A table becomes events by an explicit column mapping:

- ``activity_col`` (required) — the event type; ``timestamp_col`` (required) — the event time;
- object columns: ``objects={"order": "order_id", "customer": "customer_id"}`` (object type → column),
  with the shorthands ``customer_col=`` (type ``customer``) and ``case_col=`` (type ``case_type``,
  default ``"case"``). At least one is required. Each non-empty value links the event to the object of
  that type and id (created if new). A row with no object id at all is refused;
- ``id_col`` (optional) — the event id; without it the id is a hash of the row's mapped content, so
  re-importing the same file adds nothing while identical rows inside one file are all kept;
- ``attribute_cols`` (optional) — event attributes; default: every column not mapped above;
- ``object_attribute_cols={"customer": ["age", "gender"]}`` — attributes of objects, taken from the
  first row that names the object.

Timestamps: a timestamp column is taken as is (zone-aware → UTC; naive → in ``timezone``). Text is
parsed with ``timestamp_format`` (strptime codes) or, by default, as ISO 8601 (date-only allowed),
naive values being in ``timezone`` (default UTC). A row whose activity is empty, or whose timestamp is
empty or unparsable (``2024-13-45``), is refused into the quarantine with the column named and the row
number (1-based data row, header excluded); the other rows import.

CSV values are read as text (attributes keep the text as written); ``delimiter`` and ``encoding`` are
options because ``;`` and latin-1 occur in real files. CSV and Parquet stream in blocks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import FormatError, MappingError
from ..store import Batch, ImportReport, Store
from ._common import TS, check_source, json_attributes, to_utc_micros

log = logging.getLogger(__name__)

__all__ = ["read_csv", "read_frame", "read_parquet"]

_SEP = "\x1f"
_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"


class _Mapping:
    """The validated column mapping of one tabular import."""

    def __init__(
        self, columns: Sequence[str], *, activity_col: str, timestamp_col: str,
        objects: Mapping[str, str] | None = None, customer_col: str | None = None,
        case_col: str | None = None, case_type: str = "case", id_col: str | None = None,
        attribute_cols: Sequence[str] | None = None,
        object_attribute_cols: Mapping[str, Sequence[str]] | None = None, timestamp_format: str | None = None,
        timezone: str = "UTC",
    ):
        self.objects: dict[str, str] = dict(objects or {})
        if customer_col is not None:
            self.objects["customer"] = customer_col
        if case_col is not None:
            self.objects[case_type] = case_col
        if not self.objects:
            raise MappingError(
                "No object column given: pass objects={type: column}, customer_col= or case_col= "
                "so events can be linked to customers, cases or other objects."
            )
        self.activity_col, self.timestamp_col, self.id_col = activity_col, timestamp_col, id_col
        self.object_attribute_cols = {t: list(c) for t, c in (object_attribute_cols or {}).items()}
        for t in self.object_attribute_cols:
            if t not in self.objects:
                raise MappingError(
                    f"object_attribute_cols names object type {t!r}, which has no object column; "
                    f"mapped types are {sorted(self.objects)}"
                )
        mapped = {activity_col, timestamp_col, *self.objects.values(), *([id_col] if id_col else [])}
        obj_attr = {c for cols in self.object_attribute_cols.values() for c in cols}
        if attribute_cols is None:
            self.attribute_cols = [c for c in columns if c not in mapped and c not in obj_attr]
        else:
            self.attribute_cols = list(attribute_cols)
        wanted = {
            "activity_col": [activity_col], "timestamp_col": [timestamp_col], "id_col": [id_col] if id_col else [],
            "objects": list(self.objects.values()), "attribute_cols": self.attribute_cols,
            "object_attribute_cols": sorted(obj_attr),
        }
        for param, cols in wanted.items():
            missing = [c for c in cols if c not in columns]
            if missing:
                raise MappingError(
                    f"The {param!r} mapping names column(s) {missing} that the source does not have. "
                    f"Available columns: {list(columns)}"
                )
        self.timestamp_format = timestamp_format
        self.timezone = timezone

    def parameters(self) -> dict[str, object]:
        return {
            "activity_col": self.activity_col, "timestamp_col": self.timestamp_col, "objects": self.objects,
            "id_col": self.id_col, "attribute_cols": self.attribute_cols,
            "object_attribute_cols": self.object_attribute_cols, "timestamp_format": self.timestamp_format,
            "timezone": self.timezone,
        }


def _parse_times(col: pa.ChunkedArray | pa.Array, m: _Mapping) -> pa.Array:
    """The time column as the store's timestamp type; null where missing or unparsable."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_timestamp(col.type):
        if col.type.tz is None and m.timezone != "UTC":
            col = pc.assume_timezone(col, m.timezone, ambiguous="earliest", nonexistent="earliest")
        return to_utc_micros(col)
    if pa.types.is_date(col.type):
        return col.cast(TS)
    text = pd.Series(col.cast(pa.string()).to_pandas(), dtype="object").str.strip()
    fmt = m.timestamp_format or "ISO8601"
    zoned = text.str.contains(_OFFSET, na=False)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if zoned.any():  # values with their own offset: to UTC
        utc = pd.to_datetime(text[zoned], format=fmt, errors="coerce", utc=True)
        parsed[zoned] = utc.dt.tz_localize(None).astype("datetime64[us]")
    if (~zoned).any():  # naive values: wall time in `timezone`
        naive = pd.to_datetime(text[~zoned], format=fmt, errors="coerce")
        if m.timezone != "UTC":
            naive = naive.dt.tz_localize(m.timezone, ambiguous="NaT", nonexistent="NaT")
            naive = naive.dt.tz_convert("UTC").dt.tz_localize(None)
        parsed[~zoned] = naive.astype("datetime64[us]")
    return pa.Array.from_pandas(parsed.astype("datetime64[us]"), type=TS)


def _blank(arr: pa.Array) -> pa.Array:
    """True where a value is null or (for text) empty after trimming."""
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(arr), ""), True)
    return pc.is_null(arr)


def _as_text(arr: pa.Array) -> pa.Array:
    return arr if pa.types.is_string(arr.type) else arr.cast(pa.string())


def _to_batch(table: pa.Table, m: _Mapping, offset: int) -> Batch:
    """One block of rows → a Batch; ``offset`` is the number of data rows before this block."""
    n = table.num_rows
    ords = pa.array(range(offset, offset + n), pa.int64())
    activity = table[m.activity_col].combine_chunks()
    raw_time = table[m.timestamp_col].combine_chunks()
    times = _parse_times(raw_time, m)
    obj_cols = {t: _as_text(table[c].combine_chunks()) for t, c in m.objects.items()}
    no_activity = _blank(activity)
    no_time = _blank(raw_time) if not pa.types.is_timestamp(raw_time.type) else pc.is_null(raw_time)
    bad_time = pc.and_(pc.is_null(times), pc.invert(no_time))
    no_object = None
    for arr in obj_cols.values():
        blank = _blank(arr)
        no_object = blank if no_object is None else pc.and_(no_object, blank)
    bad = pc.or_(pc.or_(no_activity, no_time), pc.or_(bad_time, no_object))

    refused: list[tuple[str, str, str]] = []
    if pc.any(bad).as_py():
        records = table.filter(bad).to_pylist()
        flags = [f.to_pylist() for f in (no_activity, no_time, bad_time, no_object)]
        idx = [i for i, b in enumerate(bad.to_pylist()) if b]
        for i, record in zip(idx, records):
            reasons = []
            if flags[0][i]:
                reasons.append(f"missing activity (column {m.activity_col!r})")
            if flags[1][i]:
                reasons.append(f"missing timestamp (column {m.timestamp_col!r})")
            if flags[2][i]:
                reasons.append(f"unparsable timestamp {record[m.timestamp_col]!r} (column {m.timestamp_col!r})")
            if flags[3][i]:
                reasons.append(f"no object id in column(s) {list(m.objects.values())}")
            refused.append((f"row {offset + i + 1}", "; ".join(reasons), json.dumps(record, default=str)))
    good = pc.invert(bad)

    frame = pl.from_arrow(table.select(m.attribute_cols)) if m.attribute_cols else pl.DataFrame(height=n)
    attributes = json_attributes(frame, m.attribute_cols) if m.attribute_cols else pa.nulls(n, pa.string())
    if m.id_col:
        ids, keys = _as_text(table[m.id_col].combine_chunks()), pa.nulls(n, pa.string())
        ids = pc.if_else(_blank(ids), pa.scalar(None, pa.string()), ids)
    else:
        parts = [_as_text(activity), pc.cast(times, pa.string())]
        parts += [pc.fill_null(a, "") for a in obj_cols.values()]
        parts.append(pc.fill_null(attributes, ""))
        ids, keys = pa.nulls(n, pa.string()), pc.binary_join_element_wise(*parts, _SEP)
    events = pa.table(
        {"ord": ords, "id": ids, "key": keys, "type": _as_text(activity), "time": times, "attributes": attributes}
    ).filter(good)

    link_parts, object_parts = [], []
    for obj_type, arr in obj_cols.items():
        keep = pc.and_(good, pc.invert(_blank(arr)))
        ids_t = arr.filter(keep)
        link_parts.append(pa.table({
            "event_ord": ords.filter(keep), "object_type": pa.array([obj_type] * len(ids_t), pa.string()),
            "object_id": ids_t, "qualifier": pa.nulls(len(ids_t), pa.string()),
        }))
        attr_cols = m.object_attribute_cols.get(obj_type, [])
        obj_attrs = (
            json_attributes(pl.from_arrow(table.select(attr_cols).filter(keep)), attr_cols)
            if attr_cols else pa.nulls(len(ids_t), pa.string())
        )
        object_parts.append(pa.table({"type": pa.array([obj_type] * len(ids_t), pa.string()), "id": ids_t,
                                      "attributes": obj_attrs}))
    return Batch(
        events=events, objects=pa.concat_tables(object_parts), event_objects=pa.concat_tables(link_parts),
        quarantine=Batch.refused(refused),
    )


def _load(store: Store, blocks: Iterable[pa.Table], columns: Sequence[str], source: str, fmt: str,
          mapping: dict, extra: dict) -> ImportReport:
    m = _Mapping(columns, **mapping)

    def batches() -> Iterator[Batch]:
        offset = 0
        for block in blocks:
            yield _to_batch(block, m, offset)
            offset += block.num_rows

    return store.load(batches(), source=source, format=fmt, parameters={**m.parameters(), **extra})


def read_frame(
    data, store: Store, *, activity_col: str, timestamp_col: str, objects: Mapping[str, str] | None = None,
    customer_col: str | None = None, case_col: str | None = None, case_type: str = "case",
    id_col: str | None = None, attribute_cols: Sequence[str] | None = None,
    object_attribute_cols: Mapping[str, Sequence[str]] | None = None, timestamp_format: str | None = None,
    timezone: str = "UTC", source: str = "<frame>",
) -> ImportReport:
    """Import a pandas or polars DataFrame or an Arrow table (mapping as in the module docs).

    >>> import pandas as pd, journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> df = pd.DataFrame({"user": ["u1", "u1"], "event": ["view", "buy"],
    ...                    "ts": ["2024-05-01 10:00", "2024-05-01 10:05"]})
    >>> jm.read_frame(df, store, activity_col="event", timestamp_col="ts", customer_col="user").events_imported
    2
    """
    if isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data, preserve_index=False)
    elif isinstance(data, pl.DataFrame):
        table = data.to_arrow()
    elif isinstance(data, pa.Table):
        table = data
    elif isinstance(data, pa.RecordBatch):
        table = pa.Table.from_batches([data])
    else:
        raise MappingError(
            f"read_frame takes a pandas or polars DataFrame or a pyarrow Table; got {type(data).__name__}"
        )
    mapping = dict(activity_col=activity_col, timestamp_col=timestamp_col, objects=objects,
                   customer_col=customer_col, case_col=case_col, case_type=case_type, id_col=id_col,
                   attribute_cols=attribute_cols, object_attribute_cols=object_attribute_cols,
                   timestamp_format=timestamp_format, timezone=timezone)
    return _load(store, [table], table.column_names, source, "frame", mapping, {})


def read_csv(
    path: str | Path, store: Store, *, delimiter: str = ",", encoding: str = "utf-8",
    block_size: int = 16 << 20, **mapping,
) -> ImportReport:
    """Import a CSV file in blocks; every value is read as text. See the module docs for ``mapping``.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> report = jm.read_csv("data/bpic2016-complaints/BPI2016_Complaints.csv", store, delimiter=";",
    ...                      encoding="latin-1", activity_col="ComplaintTopic_EN", timestamp_col="ContactDate",
    ...                      customer_col="CustomerID", id_col="ComplaintID")
    >>> report.events_imported, report.refused
    (289, 0)
    """
    p = check_source(path)
    read = pacsv.ReadOptions(encoding=encoding, block_size=block_size)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    try:
        names = pacsv.open_csv(p, read_options=read, parse_options=parse).schema.names
        convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in names}, strings_can_be_null=False)
        reader = pacsv.open_csv(p, read_options=read, parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise FormatError(f"{p.name} is not a readable CSV file with delimiter {delimiter!r} and "
                          f"encoding {encoding!r}: {exc}", path=str(p)) from exc

    def blocks() -> Iterator[pa.Table]:
        try:
            for rb in reader:
                yield pa.Table.from_batches([rb])
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise FormatError(f"{p.name}: CSV parsing failed: {exc}", path=str(p)) from exc

    return _load(store, blocks(), names, str(p), "csv", mapping, {"delimiter": delimiter, "encoding": encoding})


def read_parquet(path: str | Path, store: Store, *, batch_rows: int = 500_000, **mapping) -> ImportReport:
    """Import a Parquet file in row batches, with the column types it has. Mapping as in the module docs."""
    p = check_source(path)
    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(f"{p.name} is not a Parquet file: {exc}", path=str(p)) from exc
    blocks = (pa.Table.from_batches([rb]) for rb in pf.iter_batches(batch_size=batch_rows))
    return _load(store, blocks, pf.schema_arrow.names, str(p), "parquet", mapping, {})
