"""OCEL 2.0 imports: XML (plain and gzipped), JSON and SQLite; counts against pm4py's, the timestamp
rule, quarantine of planted bad records, FormatError on files that are not what they claim."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

import journeymine as jm
from journeymine.ingest._ocel import read_ocel

HERE = Path(__file__).resolve().parent.parent / "data"
EXAMPLE = ("ocel20_example.xmlocel", "ocel20_example.jsonocel", "ocel20_example.sqlite")
HOUR = dt.timedelta(hours=1)


def _times(store) -> dict[str, dt.datetime]:
    return {r["id"]: r["time"] for r in store.query("SELECT id, time FROM event").to_pylist()}


def _changes(store) -> set[tuple]:
    return {tuple(r.values()) for r in store.query(
        "SELECT o.id, c.time, c.field, CAST(c.value AS VARCHAR) AS v FROM object_change c "
        "JOIN object o ON o.code = c.object_code").to_pylist()}


def _state(store) -> tuple:
    info = store.info()
    return info.to_dict(), store.runs().num_rows, store.quarantine().num_rows


# -- order management (OCEL 2.0 XML, gzipped) -----------------------------------------------------------
@pytest.fixture(scope="module")
def order_management(data_dir, tmp_path_factory):
    with jm.connect(tmp_path_factory.mktemp("om") / "om.duckdb") as store:
        report = read_ocel(data_dir / "ocel2-order-management/order-management.xml.gz", store)
        yield store, report


def test_order_management_counts_match_pm4py(order_management):
    store, report = order_management
    info = store.info()
    assert (report.events_imported, report.objects_imported, report.refused) == (21_008, 10_840, 0)
    assert report.format == "ocel-xml"
    assert info.objects_by_type == {"items": 7_659, "orders": 2_000, "packages": 1_128, "products": 20,
                                    "employees": 18, "customers": 15}
    assert len(info.events_by_type) == 11 and info.events_by_type["pick item"] == 7_659
    assert (info.event_object_links, info.object_object_links) == (147_463, 28_391)
    assert report.links_imported == 147_463 + 28_391
    # the file writes offsets (+02:00 / +01:00 on object attributes, +00:00 on events): stored as UTC
    assert info.first_event == dt.datetime(2023, 4, 3, 10, 8, 18)
    assert info.last_event == dt.datetime(2024, 6, 4, 18, 12, 7)


def test_order_management_links_in_the_file_are_distinct_triples(data_dir):
    """pm4py counts relationship rows; the store keeps distinct (source, target, qualifier) triples. The
    file has no repeated triple, so both agree. Some pairs occur with two qualifiers (78 more event-object
    triples than pairs, 243 more object-object ones); each qualifier is kept as its own link."""
    root = etree.parse(gzip.open(data_dir / "ocel2-order-management/order-management.xml.gz")).getroot()
    def links(section: str) -> list[tuple]:
        return [(x.get("id"), r.get("object-id"), r.get("qualifier"))
                for x in root.find(section) for r in x.iter("relationship")]

    e2o, o2o = links("events"), links("objects")
    assert (len(e2o), len(set(e2o)), len({t[:2] for t in e2o})) == (147_463, 147_463, 147_385)
    assert (len(o2o), len(set(o2o)), len({t[:2] for t in o2o})) == (28_391, 28_391, 28_148)


def test_order_management_attributes_and_changes(order_management):
    store, _ = order_management
    # every object attribute in this file carries a real time: each value is a change, and the earliest
    # value of each attribute is also the object's initial attribute
    assert store.query("SELECT count(*) FROM object_change").column(0)[0].as_py() == 18_604
    products = store.query(
        "SELECT count(*) FROM object_change c JOIN object o ON o.code = c.object_code "
        "WHERE o.type = 'products' AND c.field = 'price'").column(0)[0].as_py()
    assert products == 120  # six prices per product over time
    item = store.query("SELECT attributes FROM object WHERE type = 'items' AND id = 'i-880001'").column(0)[0].as_py()
    assert json.loads(item) == {"weight": 0.78, "price": 99.99}  # declared float: JSON numbers
    role = store.query("SELECT attributes FROM object WHERE id = 'Wil van der Aalst'").column(0)[0].as_py()
    assert json.loads(role) == {"role": "Sales"}
    change = store.query(
        "SELECT c.time, CAST(c.value AS VARCHAR) AS v FROM object_change c JOIN object o ON o.code = c.object_code "
        "WHERE o.id = 'o-990001'").to_pylist()
    assert change == [{"time": dt.datetime(2023, 4, 3, 10, 8, 18), "v": "1353.98"}]  # 12:08:18+02:00


def test_reimport_adds_nothing(order_management, data_dir):
    store, _ = order_management
    before = store.info()
    again = read_ocel(data_dir / "ocel2-order-management/order-management.xml.gz", store)
    assert (again.events_imported, again.objects_imported, again.links_imported) == (0, 0, 0)
    assert again.duplicates_skipped == 21_008 and again.refused == 0
    after = store.info()
    assert (after.events, after.objects, after.event_object_links, after.object_object_links) == (
        before.events, before.objects, before.event_object_links, before.object_object_links)
    assert store.query("SELECT count(*) FROM object_change").column(0)[0].as_py() == 18_604


# -- the example log in three formats -------------------------------------------------------------------
@pytest.mark.parametrize("name", EXAMPLE)
def test_example_counts_in_each_format(store, data_dir, name):
    report = read_ocel(data_dir / "ocel2-example" / name, store)
    info = store.info()
    assert (info.events, info.objects, info.event_object_links, info.object_object_links) == (13, 9, 20, 7)
    assert report.refused == 0 and len(info.events_by_type) == 8
    assert info.objects_by_type == {"Invoice": 3, "Payment": 3, "Purchase Order": 2, "Purchase Requisition": 1}
    po1 = store.query("SELECT attributes FROM object WHERE id = 'PO1'").column(0)[0].as_py()
    assert json.loads(po1) == {"po_product": "Cows", "po_quantity": "500"}
    qualifiers = store.query("SELECT qualifier FROM event_object eo JOIN event e ON e.code = eo.event_code "
                             "WHERE e.id = 'e3' ORDER BY qualifier").column(0).to_pylist()
    assert qualifiers == ["Created order from PR", "Created order with identifier"]
    assert json.loads(store.query("SELECT attributes FROM event WHERE id = 'e1'").column(0)[0].as_py()) == {
        "pr_creator": "Mike"}


def _import(path: Path, tmp_path: Path, **kw) -> jm.Store:
    store = jm.connect(tmp_path / f"{path.name}-{len(kw)}.duckdb")
    read_ocel(path, store, **kw)
    return store


def test_example_timestamps_follow_the_rule_and_agree_across_formats(data_dir, tmp_path):
    """The XML and SQLite files write local wall times without offset (e1 at 15:00; the SQLite even writes
    the epoch as 1970-01-01 01:00:00: its writer was at UTC+1), the JSON file the same instants in UTC
    with +00:00 (e1 at 14:00+00:00). Values without offset are UTC by default, so XML and SQLite agree
    and JSON reads exactly one hour earlier; naming the zone of the naive values makes all three agree,
    events and object changes alike."""
    xml, jsn, sql = (_import(data_dir / "ocel2-example" / n, tmp_path) for n in EXAMPLE)
    try:
        assert _times(xml) == _times(sql)
        assert _times(xml)["e1"] == dt.datetime(2022, 1, 9, 15, 0)
        assert _times(jsn) == {k: t - HOUR for k, t in _times(xml).items()}
        assert _changes(xml) == _changes(sql) and len(_changes(xml)) == 3
    finally:
        for s in (xml, jsn, sql):
            s.close()
    zoned = [_import(data_dir / "ocel2-example" / n, tmp_path, timezone="Europe/Amsterdam") for n in EXAMPLE]
    try:
        times = [set(_times(s).items()) for s in zoned]
        assert times[0] == times[1] == times[2] and len(times[0]) == 13
        assert dict(times[0])["e1"] == dt.datetime(2022, 1, 9, 14, 0)
        changes = [_changes(s) for s in zoned]
        assert changes[0] == changes[1] == changes[2]
        assert ("R3", dt.datetime(2022, 2, 3, 6, 30), "is_blocked", '"Yes"') in changes[0]
        attrs = [s.query("SELECT id, attributes FROM object ORDER BY id").to_pylist() for s in zoned]
        assert attrs[0] == attrs[1] == attrs[2]
    finally:
        for s in zoned:
            s.close()


def test_bad_timezone_is_a_config_error(store, data_dir):
    with pytest.raises(jm.errors.ConfigError, match="timezone"):
        read_ocel(data_dir / "ocel2-example/ocel20_example.xmlocel", store, timezone="Mars/Olympus")


def test_format_from_content_and_gzipped_json(store, data_dir, tmp_path):
    src = data_dir / "ocel2-example/ocel20_example.jsonocel"
    plain = tmp_path / "log.export"
    shutil.copy(src, plain)
    assert read_ocel(plain, store).format == "ocel-json"
    gz = tmp_path / "log.jsonocel.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    again = read_ocel(gz, store)
    assert again.events_imported == 0 and again.duplicates_skipped == 13
    sq = tmp_path / "copy.bin"
    shutil.copy(data_dir / "ocel2-example/ocel20_example.sqlite", sq)
    assert read_ocel(sq, store).format == "ocel-sqlite"


def test_explicit_format_overrides_the_suffix(store, data_dir, tmp_path):
    path = tmp_path / "log.dat"
    shutil.copy(data_dir / "ocel2-example/ocel20_example.xmlocel", path)
    assert read_ocel(path, store, format="xml").events_imported == 13
    with pytest.raises(jm.errors.ConfigError, match="format"):
        read_ocel(path, store, format="xes")


# -- quarantine -----------------------------------------------------------------------------------------
def test_planted_bad_records_are_quarantined_and_the_rest_imports(store):
    report = read_ocel(HERE / "ocel_planted_bad.jsonocel", store)
    assert (report.events_imported, report.objects_imported, report.refused) == (3, 3, 5)
    q = {r["position"]: r["reason"] for r in store.quarantine().to_pylist()}
    assert q == {
        "event 'e3' (events[2])": "missing timestamp (field 'time')",
        "event 'e4' (events[3])": "unparsable timestamp '2024-13-45' (field 'time')",
        "event 'e5' (events[4])": "missing event type (field 'type')",
        'event "e6" (record 6)': 'unknown object reference "o404"',  # refused by the store itself
        "object 'o2' (objects[2]) attribute 'total'": "unparsable timestamp '2024-13-45' (field 'time')",
    }
    records = {r["position"]: r["record"] for r in store.quarantine().to_pylist()}
    assert json.loads(records["event 'e4' (events[3])"])["time"] == "2024-13-45"
    assert _times(store) == {
        "e1": dt.datetime(2024, 5, 1, 8, 0),  # +02:00 converted to UTC
        "e2": dt.datetime(2024, 5, 1, 12, 0),  # Z
        "e7": dt.datetime(2024, 5, 2, 10, 30),  # no offset: taken as UTC
    }
    attrs = {r["id"]: json.loads(r["attributes"]) for r in store.query("SELECT id, attributes FROM event").to_pylist()}
    assert attrs["e1"] == {"channel": "web", "items": 3}  # declared integer
    assert attrs["e2"] == {"paid_at": "2024-05-01T12:00:00", "express": True}  # declared time and boolean
    # the refused events left no links behind; the good ones kept theirs, with qualifiers
    links = store.query("SELECT e.id, o.id AS oid, l.qualifier FROM event_object l "
                        "JOIN event e ON e.code = l.event_code JOIN object o ON o.code = l.object_code "
                        "ORDER BY e.id, o.id").to_pylist()
    assert [(r["id"], r["oid"], r["qualifier"]) for r in links] == [
        ("e1", "c1", "customer"), ("e1", "o1", "order"), ("e2", "o1", "order"), ("e7", "c1", "customer"),
        ("e7", "o2", "order")]
    assert store.info().object_object_links == 2
    assert _changes(store) == {("o1", dt.datetime(2024, 5, 1, 9, 0), "total", "12.0")}
    objects = {r["id"]: r["attributes"] for r in store.query("SELECT id, attributes FROM object").to_pylist()}
    assert json.loads(objects["o1"]) == {"total": 10.5} and objects["o2"] is None


def test_xml_positions_carry_line_numbers(store, tmp_path):
    path = tmp_path / "bad.xmlocel"
    path.write_text(
        "<log>\n<object-types/><event-types/>\n<objects>\n<object id='c1' type='customer'/>\n</objects>\n<events>\n"
        "<event id='a' type='visit' time='2024-01-01T10:00:00Z'>"
        "<objects><relationship object-id='c1'/></objects></event>\n"
        "<event id='b' type='visit' time='2024-13-45'/>\n"
        "<event id='c' time='2024-01-01T11:00:00'/>\n"
        "</events>\n</log>\n"
    )
    report = read_ocel(path, store)
    assert (report.events_imported, report.refused) == (1, 2)
    q = {r["position"]: r["reason"] for r in store.quarantine().to_pylist()}
    assert q == {"event 'b' (events[1], line 8)": "unparsable timestamp '2024-13-45' (attribute 'time')",
                 "event 'c' (events[2], line 9)": "missing event type (attribute 'type')"}


# -- files that are not what they claim -----------------------------------------------------------------
def test_truncated_xml_gz_is_a_format_error_and_changes_nothing(store, data_dir, tmp_path):
    read_ocel(data_dir / "ocel2-example/ocel20_example.xmlocel", store)
    before = _state(store)
    data = (data_dir / "ocel2-order-management/order-management.xml.gz").read_bytes()
    cut = tmp_path / "order-management.xml.gz"
    cut.write_bytes(data[: len(data) * 3 // 4])  # batches were loaded before the cut was hit
    with pytest.raises(jm.errors.FormatError, match="not a complete gzip file"):
        read_ocel(cut, store, batch_size=1_000)
    assert _state(store) == before


def test_non_json_jsonocel_is_a_format_error_and_changes_nothing(store, data_dir, tmp_path):
    read_ocel(data_dir / "ocel2-example/ocel20_example.sqlite", store)
    before = _state(store)
    path = tmp_path / "log.jsonocel"
    path.write_text("this is not JSON at all\n")
    with pytest.raises(jm.errors.FormatError, match="is not JSON"):
        read_ocel(path, store)
    assert _state(store) == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.xmlocel", b"<log><object-types>", "not well-formed XML"),
        ("a.xml", b"<log><trace><event id='1' type='x' time='2024-01-01'/></trace></log>", "sits in <trace>"),
        ("a.xml", b"<html><body/></html>", "root is <html>"),
        ("a.jsonocel", b'{"ocel:events": {}}', "OCEL 1.0 JSON is not supported"),
        ("a.json", b"[1, 2]", "not OCEL 2.0 JSON"),
        ("a.sqlite", b"not a database", "not an SQLite database"),
        ("a.txt", b"plain words", "neither OCEL 2.0 XML, JSON nor SQLite"),
    ],
)
def test_files_that_are_not_ocel(store, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    before = _state(store)
    with pytest.raises(jm.errors.FormatError, match=message):
        read_ocel(path, store)
    assert _state(store) == before


def test_sqlite_without_ocel_tables_is_a_format_error(store, tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(jm.errors.FormatError, match="lacks table"):
        read_ocel(path, store)
    assert store.info().import_runs == 0


def test_missing_file(store, tmp_path):
    with pytest.raises(jm.errors.SourceNotFoundError):
        read_ocel(tmp_path / "nope.jsonocel", store)


def test_sqlite_positions_name_tables(store, data_dir, tmp_path):
    path = tmp_path / "edit.sqlite"
    shutil.copy(data_dir / "ocel2-example/ocel20_example.sqlite", path)
    con = sqlite3.connect(path)
    con.execute("UPDATE event_InsertPayment SET ocel_time = '2024-13-45' WHERE ocel_id = 'e7'")
    con.execute("DELETE FROM event_InsertPayment WHERE ocel_id = 'e8'")
    con.commit()
    con.close()
    report = read_ocel(path, store)
    assert (report.events_imported, report.refused) == (11, 2)
    q = {r["position"]: r["reason"] for r in store.quarantine().to_pylist()}
    assert q == {
        "event 'e7' (event row 7)": "unparsable timestamp '2024-13-45' (column event_InsertPayment.ocel_time)",
        "event 'e8' (event row 8)": "missing timestamp (no row in table event_InsertPayment)",
    }
    assert Counter(store.info().events_by_type)["Insert Payment"] == 1


def test_xml_with_events_before_objects_is_held_until_the_objects_are_read(store, tmp_path):
    path = tmp_path / "late.xml"
    path.write_text(
        "<log><event-types><event-type name='visit'><attributes><attribute name='n' type='integer'/>"
        "</attributes></event-type></event-types>"
        "<events><event id='a' type='visit' time='2024-01-01T10:00:00+01:00'>"
        "<attributes><attribute name='n'>7</attribute></attributes>"
        "<objects><relationship object-id='c1' qualifier=''/></objects></event>"
        "<event id='b' type='visit' time='2024-01-01T11:00:00'><objects><relationship object-id='c1' "
        "qualifier='again'/></objects></event></events>"
        "<objects><object id='c1' type='customer'/></objects></log>"
    )
    report = read_ocel(path, store, batch_size=1)
    assert (report.events_imported, report.refused) == (2, 0)
    assert _times(store) == {"a": dt.datetime(2024, 1, 1, 9), "b": dt.datetime(2024, 1, 1, 11)}
    assert store.query("SELECT attributes FROM event WHERE id = 'a'").column(0)[0].as_py() == '{"n":7}'
    quals = store.query("SELECT qualifier FROM event_object ORDER BY qualifier NULLS FIRST").column(0).to_pylist()
    assert quals == [None, "again"]  # an empty qualifier is no qualifier


def test_values_that_do_not_fit_their_declaration_are_kept(store, tmp_path, caplog):
    path = tmp_path / "typed.jsonocel"
    path.write_text(json.dumps({
        "objectTypes": [{"name": "c", "attributes": []}],
        "eventTypes": [{"name": "v", "attributes": [{"name": "n", "type": "integer"}, {"name": "f", "type": "float"}]}],
        "objects": [{"id": "c1", "type": "c"}],
        "events": [{"id": 1, "type": "v", "time": "2024-01-01", "attributes": [
            {"name": "n", "value": "abc"}, {"name": "f", "value": "2.50"}, {"name": "extra", "value": [1, 2]}],
            "relationships": [{"objectId": "c1"}]}],
    }))
    with caplog.at_level("WARNING", logger="journeymine.ingest._ocel"):
        assert read_ocel(path, store).events_imported == 1
    assert json.loads(store.query("SELECT attributes FROM event").column(0)[0].as_py()) == {
        "n": "abc", "f": 2.5, "extra": "[1, 2]"}
    assert store.query("SELECT id, time FROM event").to_pylist() == [{"id": "1", "time": dt.datetime(2024, 1, 1)}]
    assert "do not fit the declared type" in caplog.text
