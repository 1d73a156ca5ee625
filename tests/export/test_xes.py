"""XES export: round trips through write_xes and read_xes, types, escaping, gzip, errors."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest
from lxml import etree

import journeymine as jm
from journeymine.export._xes import write_xes
from journeymine.ingest._xes import read_xes

XES = "{http://www.xes-standard.org/}"


def _per_case(store: jm.Store) -> dict[str, list[tuple[str, dt.datetime]]]:
    cases: dict[str, list[tuple[str, dt.datetime]]] = {}
    for row in store.process_view("case").to_pylist():
        cases.setdefault(row["case_id"], []).append((row["activity"], row["time"]))
    return cases


def _attributes(store: jm.Store) -> list[str | None]:
    return store.query("SELECT attributes FROM event ORDER BY code").column(0).to_pylist()


@pytest.mark.parametrize("source, out", [
    ("running-example/running-example.xes", "again.xes"),
    ("bpic2013-closed-problems/bpic2013_closed_problems.xes.gz", "again.xes.gz"),
    ("sepsis/sepsis_cases.xes.gz", "again.xes"),
])
def test_round_trip_keeps_cases_events_times_and_attributes(store, tmp_path, data_dir, source, out):
    read_xes(data_dir / source, store)
    path = write_xes(store, tmp_path / out)
    with jm.connect(tmp_path / "fresh.duckdb") as fresh:
        report = read_xes(path, fresh)
        assert report.refused == 0
        a, b = store.info(), fresh.info()
        assert (b.events, b.objects, b.events_by_type, b.first_event, b.last_event) == (
            a.events, a.objects, a.events_by_type, a.first_event, a.last_event)
        assert _per_case(fresh) == _per_case(store)
        assert _attributes(fresh) == _attributes(store)  # typed values come back identical
        objects = "SELECT id, attributes FROM object ORDER BY code"
        assert fresh.query(objects).to_pylist() == store.query(objects).to_pylist()
    # same content: importing the export into the original store adds nothing
    assert read_xes(path, store).events_imported == 0


def test_gzip_by_suffix_and_xml_types(store, tmp_path, data_dir):
    read_xes(data_dir / "sepsis/sepsis_cases.xes.gz", store)
    path = write_xes(store, tmp_path / "sepsis.xes.gz")
    raw = path.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    root = etree.fromstring(gzip.decompress(raw))
    assert root.tag == XES + "log"
    traces = root.findall(XES + "trace")
    assert len(traces) == 1_050
    first = traces[0].find(XES + "event")
    tags = {child.get("key"): etree.QName(child).localname for child in first}
    assert tags["concept:name"] == "string" and tags["time:timestamp"] == "date"
    assert tags["Age"] == "int" and tags["InfectionSuspected"] == "boolean"
    assert not list(tmp_path.glob("*.part"))


def test_values_are_escaped_and_dates_typed(store, tmp_path):
    source = tmp_path / "odd.xes"
    source.write_text(
        '<log><trace><string key="concept:name" value="c &lt;1&gt;"/><date key="due" value="2024-02-01T00:00:00Z"/>'
        '<event><string key="concept:name" value="a &amp; b"/>'
        '<date key="time:timestamp" value="2024-01-01T12:00:00+01:00"/>'
        '<string key="text" value="say &quot;hi&quot;&#9;&#10;now"/><float key="x" value="2"/>'
        '<string key="ctl" value="a&#x1;b"/></event></trace></log>')
    read_xes(source, store)
    path = write_xes(store, tmp_path / "odd-out.xes")
    root = etree.parse(str(path)).getroot()  # well-formed XML
    trace = root.find(XES + "trace")
    assert trace.find(XES + "string").get("value") == "c <1>"
    assert trace.find(XES + "date").get("value") == "2024-02-01T00:00:00+00:00"
    event = {child.get("key"): (etree.QName(child).localname, child.get("value"))
             for child in trace.find(XES + "event")}
    assert event["concept:name"] == ("string", "a & b")
    assert event["time:timestamp"] == ("date", "2024-01-01T11:00:00.000000+00:00")
    assert event["text"] == ("string", 'say "hi"\t\nnow')
    assert event["x"] == ("float", "2.0")
    assert event["ctl"] == ("string", "ab")  # XML 1.0 cannot carry U+0001
    with jm.connect(":memory:") as again:
        read_xes(path, again)
        assert _per_case(again) == _per_case(store)


def test_merged_objects_are_part_of_their_targets_trace(store, tmp_path, data_dir):
    read_xes(data_dir / "running-example/running-example.xes", store)
    sizes = {case: len(events) for case, events in _per_case(store).items()}
    store.identify("1", "2", anonymous_type="case", customer_type="case")
    path = write_xes(store, tmp_path / "merged.xes")
    with jm.connect(":memory:") as again:
        read_xes(path, again)
        cases = _per_case(again)
    assert sorted(cases) == ["2", "3", "4", "5", "6"]
    assert len(cases["2"]) == sizes["1"] + sizes["2"] and cases["2"] == _per_case(store)["2"]


def test_unknown_object_type_lists_the_types(store, tmp_path, data_dir):
    read_xes(data_dir / "running-example/running-example.xes", store, object_type="claim")
    with pytest.raises(jm.errors.ExportError, match=r"one of \['claim'\]"):
        write_xes(store, tmp_path / "x.xes")
    assert not (tmp_path / "x.xes").exists()
