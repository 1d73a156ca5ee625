"""The same store gives the same answers on DuckDB and on Spark (its Parquet export).

Every test runs on both backends (``backend`` fixture) and compares with the DuckDB store itself
(``reference``) *and* with values written out here, so the DuckDB run is not a self-comparison only.
Tables must be equal including their Arrow schema (types and column names).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

T0 = dt.datetime(2024, 5, 1, 10, 0)  # the parity store's first event (tests/parity/conftest.py)


def assert_same(result: pa.Table, expected: pa.Table) -> None:
    assert result.schema == expected.schema
    assert result.equals(expected), f"\n{result.to_pylist()}\n!=\n{expected.to_pylist()}"


def test_info_is_equal(backend, reference):
    info = backend.info()
    assert info.to_dict() == reference.info().to_dict()
    assert (info.events, info.objects, info.event_object_links, info.object_object_links) == (10, 6, 15, 2)
    assert (info.aliases, info.import_runs, info.quarantined, info.schema_version) == (1, 1, 1, 3)
    assert info.first_event == T0 and info.last_event == T0 + dt.timedelta(days=1)
    assert info.objects_by_type == {"customer": 2, "order": 2, "support/ticket": 1, "visitor": 1}
    assert info.events_by_type["checkout"] == 2 and "refund" not in info.events_by_type


def test_process_view_is_identical(backend, reference):
    view = backend.process_view("order")
    assert_same(view, reference.process_view("order"))
    assert view.schema == pa.schema([("case_id", pa.string()), ("event_id", pa.string()),
                                     ("activity", pa.string()), ("time", pa.timestamp("us"))])
    assert list(zip(view["case_id"].to_pylist(), view["event_id"].to_pylist())) == [
        ("o1", "e4"), ("o1", "e5"), ("o1", "e6"), ("o2", "e8"), ("o2", "e9")]


def test_process_view_of_a_type_with_a_slash(backend, reference):
    view = backend.process_view("support/ticket")
    assert_same(view, reference.process_view("support/ticket"))
    assert view["event_id"].to_pylist() == ["e11"]


def test_journey_is_identical_and_includes_the_merged_visitor(backend, reference):
    journey = backend.journey("c1")
    assert_same(journey, reference.journey("c1"))
    assert journey["event_id"].to_pylist() == ["e1", "e2", "e3", "e4", "e6"]
    assert journey["attributes"].to_pylist()[0] == '{"url": "/home"}'
    assert_same(backend.journey_view(), reference.journey_view())


def test_quarantine_is_identical(backend, reference):
    quarantine = backend.quarantine()
    assert_same(quarantine, reference.quarantine())
    assert_same(backend.quarantine(run_id=1), quarantine)
    row = quarantine.to_pylist()[0]
    assert quarantine.num_rows == 1 and row["source"] == "shop.csv" and '"ghost"' in row["reason"]


def test_runs_are_identical(backend, reference):
    assert_same(backend.runs(), reference.runs())
    assert backend.runs()["parameters"].to_pylist() == ['{"delimiter": ","}']


def test_a_grouped_query_with_parameters_runs_on_both(backend, reference):
    sql = """
        SELECT e.type AS activity, count(*) AS n, count(DISTINCT s.object_code) AS cases,
               min(s.time) AS first_time, max(s.time) AS last_time
        FROM seq s JOIN event e ON e.code = s.event_code
        WHERE s.object_type = $t AND s.time >= $since
        GROUP BY e.type
        ORDER BY n DESC, activity
    """
    params = {"t": "customer", "since": T0 + dt.timedelta(seconds=30)}
    result = backend.query(sql, params)
    assert_same(result, reference.query(sql, params))
    assert result.schema.types == [pa.string(), pa.int64(), pa.int64(), pa.timestamp("us"), pa.timestamp("us")]
    assert [(r["activity"], r["n"], r["cases"]) for r in result.to_pylist()] == [
        ("checkout", 2, 2), ("add_to_cart", 1, 1), ("deliver", 1, 1), ("login", 1, 1), ("open_ticket", 1, 1)]


def test_an_aware_datetime_parameter_means_the_same_instant(backend, reference):
    sql = "SELECT count(*) AS n FROM event WHERE time < $until"
    naive = {"until": T0 + dt.timedelta(hours=1)}
    aware = {"until": (T0 + dt.timedelta(hours=1)).replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=2)))}
    assert backend.query(sql, naive).to_pylist() == backend.query(sql, aware).to_pylist() == [{"n": 7}]
    assert_same(backend.query(sql, naive), reference.query(sql, naive))


def test_every_table_reads_the_same(backend, reference):
    keys = {"event": "code", "object": "code", "event_object": "event_code, object_code",
            "object_object": "source_code", "object_change": "object_code", "alias": "source_code",
            "event_type": "code", "seq": "object_type, object_code, time, event_code",
            "import_run": "id", "quarantine": "run_id"}
    for table, key in keys.items():
        assert_same(backend.query(f"SELECT * FROM {table} ORDER BY {key}"),
                    reference.query(f"SELECT * FROM {table} ORDER BY {key}"))


def test_scan_of_seq_keeps_its_order(backend, reference):
    scanned = pa.Table.from_batches(list(backend.scan("seq", batch_size=4)))
    assert_same(scanned, pa.Table.from_batches(list(reference.scan("seq"))))
    keys = [(r["object_type"], r["object_code"], r["time"], r["event_code"]) for r in scanned.to_pylist()]
    assert keys == sorted(keys)
