"""Tabular imports: CSV (delimiters, encodings), Parquet, pandas/polars/Arrow, bad rows to quarantine."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import journeymine as jm

HERE = Path(__file__).resolve().parent.parent / "data"
MAPPING = dict(activity_col="activity", timestamp_col="timestamp", id_col="event_id",
               objects={"customer": "customer", "order": "order"})


def test_bpic2016_complaints_semicolon_latin1(store, data_dir):
    report = jm.read_csv(data_dir / "bpic2016-complaints/BPI2016_Complaints.csv", store, delimiter=";",
                         encoding="latin-1", activity_col="ComplaintTheme_EN", timestamp_col="ContactDate",
                         customer_col="CustomerID", id_col="ComplaintID",
                         object_attribute_cols={"customer": ["AgeCategory", "Gender"]})
    assert (report.events_imported, report.objects_imported, report.refused) == (289, 226, 0)
    info = store.info()
    assert info.events_by_type == {"services": 246, "treatment (attitude/behavior)": 41, "duration of treatment": 2}
    assert info.first_event == dt.datetime(2015, 7, 3) and info.last_event == dt.datetime(2016, 2, 28)
    # latin-1 text decoded: Dutch theme names survive as attributes
    texts = store.query("SELECT attributes FROM event")["attributes"].to_pylist()
    assert any("behandelingsduur" in t for t in texts)


def test_wrong_encoding_is_a_format_error(store, data_dir, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,ts,c\nGr\xfc\xdfe,2024-01-01,x\n".encode("latin-1"))
    with pytest.raises(jm.errors.FormatError, match="encoding 'utf-8'"):
        jm.read_csv(path, store, activity_col="a", timestamp_col="ts", customer_col="c")
    assert jm.read_csv(path, store, encoding="latin-1", activity_col="a", timestamp_col="ts",
                       customer_col="c").events_imported == 1
    assert store.info().events_by_type == {"Grüße": 1}


def test_planted_bad_rows_are_quarantined_with_reasons_and_the_rest_imports(store):
    report = jm.read_csv(HERE / "planted_bad.csv", store, **MAPPING)
    assert report.events_imported == 4 and report.refused == 4
    q = {r["position"]: r["reason"] for r in store.quarantine().to_pylist()}
    assert q == {
        "row 3": "missing timestamp (column 'timestamp')",
        "row 4": "unparsable timestamp '2024-13-45' (column 'timestamp')",
        "row 5": "missing activity (column 'activity')",
        "row 7": "no object id in column(s) ['customer', 'order']",
    }
    assert '"checkout"' in store.quarantine()["record"][0].as_py()
    # offsets are converted to UTC; a date alone is midnight UTC
    times = dict(store.query("SELECT id, time FROM event").to_pylist() and
                 [(r["id"], r["time"]) for r in store.query("SELECT id, time FROM event").to_pylist()])
    assert times["6"] == dt.datetime(2024, 5, 2, 7, 5) and times["8"] == dt.datetime(2024, 5, 3)
    # the row with a customer but no order links to the customer only
    assert store.journey("c3")["activity"].to_pylist() == ["view"]
    assert store.info().objects_by_type == {"customer": 3, "order": 2}


def test_reimport_adds_nothing_with_and_without_event_ids(store):
    jm.read_csv(HERE / "planted_bad.csv", store, **MAPPING)
    again = jm.read_csv(HERE / "planted_bad.csv", store, **MAPPING)
    assert again.events_imported == 0 and again.duplicates_skipped == 4 and again.refused == 4
    no_ids = {k: v for k, v in MAPPING.items() if k != "id_col"}
    first = jm.read_csv(HERE / "planted_bad.csv", store, **no_ids, attribute_cols=["channel"])
    assert first.events_imported == 4  # content-hash ids differ from the given ids
    assert jm.read_csv(HERE / "planted_bad.csv", store, **no_ids, attribute_cols=["channel"]).events_imported == 0


def test_naive_times_in_a_named_timezone(store):
    df = pd.DataFrame({"c": ["x"], "a": ["view"], "t": ["2024-07-01 12:00"]})
    jm.read_frame(df, store, activity_col="a", timestamp_col="t", customer_col="c", timezone="Europe/Berlin")
    assert store.info().first_event == dt.datetime(2024, 7, 1, 10, 0)


def test_dataframe_arrow_polars_and_parquet_give_the_same_store(tmp_path):
    df = pd.DataFrame({
        "user": ["u1", "u1", "u2"], "event": ["view", "buy", "view"], "amount": [None, 12.5, None],
        "ts": pd.to_datetime(["2024-05-01 10:00", "2024-05-01 10:05", "2024-05-02 08:00"]).tz_localize("UTC"),
    })
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "x.parquet")
    kw = dict(activity_col="event", timestamp_col="ts", customer_col="user")
    results = []
    for i, load in enumerate([
        lambda s: jm.read_frame(df, s, **kw),
        lambda s: jm.read_frame(pa.Table.from_pandas(df, preserve_index=False), s, **kw),
        lambda s: jm.read_frame(pl.from_pandas(df), s, **kw),
        lambda s: jm.read_parquet(tmp_path / "x.parquet", s, **kw),
    ]):
        with jm.connect(tmp_path / f"{i}.duckdb") as s:
            assert load(s).events_imported == 3
            results.append(s.query("SELECT id, type, time, attributes FROM event ORDER BY id").to_pylist())
    assert all(r == results[0] for r in results)
    assert '{"amount":12.5}' in [r["attributes"] for r in results[0]]


def test_parquet_streams_in_batches(tmp_path, store):
    n = 2_500
    table = pa.table({"c": [f"c{i % 50}" for i in range(n)], "a": ["view"] * n,
                      "t": pa.array([dt.datetime(2024, 1, 1) + dt.timedelta(seconds=i) for i in range(n)],
                                    pa.timestamp("ms"))})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=700)
    report = jm.read_parquet(tmp_path / "big.parquet", store, batch_rows=1_000, activity_col="a",
                             timestamp_col="t", customer_col="c")
    assert report.events_imported == n and store.info().objects == 50


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(activity_col="nope", timestamp_col="timestamp", customer_col="customer"),
         r"'activity_col' mapping names column\(s\) \['nope'\]"),
        (dict(activity_col="activity", timestamp_col="timestamp"), "No object column given"),
        (dict(activity_col="activity", timestamp_col="timestamp", customer_col="customer",
              object_attribute_cols={"order": ["channel"]}), "object type 'order', which has no object column"),
    ],
)
def test_mapping_errors_name_the_parameter(store, kwargs, message):
    with pytest.raises(jm.errors.MappingError, match=message):
        jm.read_csv(HERE / "planted_bad.csv", store, **kwargs)


def test_missing_file_and_wrong_input_type(store):
    with pytest.raises(jm.errors.SourceNotFoundError):
        jm.read_csv("no/such.csv", store, activity_col="a", timestamp_col="t", customer_col="c")
    with pytest.raises(jm.errors.MappingError, match="got list"):
        jm.read_frame([1, 2], store, activity_col="a", timestamp_col="t", customer_col="c")


def test_csv_with_an_unnamed_index_column_keeps_it_as_an_attribute(tmp_path):
    path = tmp_path / "pandas_export.csv"  # as pandas.to_csv writes it: an index column without a name
    path.write_text(",activity,ts,case\n0,a,2024-01-01T10:00:00,c1\n1,b,2024-01-01T11:00:00,c1\n")
    store = jm.connect(":memory:")
    report = jm.read_csv(path, store, activity_col="activity", timestamp_col="ts", case_col="case")
    assert (report.events_imported, report.refused) == (2, 0)
    attrs = store.query("SELECT attributes FROM event ORDER BY code").column(0).to_pylist()
    assert [json.loads(a)[""] for a in attrs] == ["0", "1"]
