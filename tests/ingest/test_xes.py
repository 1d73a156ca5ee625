"""XES import: the bundled real logs, idempotent re-import, refused events, broken files, semantics."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
import rustxes

import journeymine as jm
from journeymine.ingest import read
from journeymine.ingest._xes import read_xes

BPIC2012 = "bpic2012/bpic2012.xes.gz"
RTF = "road-traffic-fines/Road_Traffic_Fine_Management_Process.xes.gz"
RUNNING = "running-example/running-example.xes"

PLANTED = """<?xml version="1.0" encoding="UTF-8"?>
<!-- planted problems: <event> without activity, without time, with a bad time; a nameless trace -->
<log xes.version="1.0">
  <global scope="event"><date key="time:timestamp" value="1970-01-01T00:00:00+01:00"/></global>
  <trace>
    <string key="concept:name" value="c1"/>
    <date key="opened" value="2024-05-01T09:00:00+02:00"/>
    <event>
      <string key="concept:name" value="register"/>
      <date key="time:timestamp" value="2024-05-01T10:00:00.250+02:00"/>
      <int key="amount" value="12"/><float key="rate" value="0.5"/><boolean key="vip" value="true"/>
      <string key="note" value="a &amp; b &lt;c&gt; &quot;d&quot;"/>
    </event>
    <event>
      <date key="time:timestamp" value="2024-05-01T11:00:00Z"/>
      <string key="org:resource" value="Pete"/>
    </event>
    <event>
      <string key="concept:name" value="check"/>
    </event>
    <event>
      <string key="concept:name" value="decide"/>
      <date key="time:timestamp" value="2024-13-45T00:00:00"/>
    </event>
    <event>
      <string key='concept:name' value='pay'/>
      <date value="2024-05-02" key="time:timestamp"/>
    </event>
    <event>
      <string key="concept:name" value="pay"/>
      <date key="time:timestamp" value="2024-05-02"/>
    </event>
  </trace>
  <trace>
    <event>
      <string key="concept:name" value="orphan"/>
      <date key="time:timestamp" value="2024-05-03T00:00:00Z"/>
    </event>
  </trace>
  <trace>
    <string key="concept:name" value="empty"/>
  </trace>
</log>
"""


@pytest.fixture(scope="module")
def bpic2012(tmp_path_factory, data_dir):
    """One BPIC 2012 import into a DuckDB file store, and its report."""
    with jm.connect(tmp_path_factory.mktemp("bpic") / "store.duckdb") as store:
        yield store, read_xes(data_dir / BPIC2012, store)


@pytest.fixture(scope="module")
def road_traffic(tmp_path_factory, data_dir):
    with jm.connect(tmp_path_factory.mktemp("rtf") / "store.duckdb") as store:
        yield store, read_xes(data_dir / RTF, store)


def test_bpic2012_imports_every_case_and_event(bpic2012):
    store, report = bpic2012
    assert (report.events_imported, report.objects_imported, report.links_imported, report.refused) == (
        262_200, 13_087, 262_200, 0)
    info = store.info()
    assert info.objects_by_type == {"case": 13_087} and info.events == 262_200
    assert len(info.events_by_type) == 24
    assert info.events_by_type["W_Completeren aanvraag"] == 54_850
    # times are UTC: the first event 2011-10-01T00:38:44.546+02:00
    assert info.first_event == dt.datetime(2011, 9, 30, 22, 38, 44, 546000)
    case = store.query("SELECT attributes FROM object WHERE id = '173688'").column(0)[0].as_py()
    assert json.loads(case) == {"REG_DATE": "2011-09-30T22:38:44.546", "AMOUNT_REQ": "20000"}


def test_bpic2012_reimport_adds_nothing(bpic2012, data_dir):
    store, _ = bpic2012
    before = store.info()
    again = read_xes(data_dir / BPIC2012, store)
    assert (again.events_imported, again.objects_imported, again.links_imported) == (0, 0, 0)
    assert again.duplicates_skipped == 262_200
    after = store.info()
    assert (after.events, after.objects, after.event_object_links) == (before.events, before.objects,
                                                                      before.event_object_links)


def test_road_traffic_fines(road_traffic):
    store, report = road_traffic
    assert (report.events_imported, report.objects_imported, report.refused) == (561_470, 150_370, 0)
    info = store.info()
    assert info.objects_by_type == {"case": 150_370} and len(info.events_by_type) == 11
    first = store.journey("A1", object_type="case").to_pylist()
    assert [e["activity"] for e in first] == ["Create Fine", "Send Fine"]
    attrs = json.loads(first[0]["attributes"])
    assert attrs == {"amount": 35.0, "org:resource": "561", "dismissal": "NIL", "vehicleClass": "A",
                     "totalPaymentAmount": 0.0, "lifecycle:transition": "complete", "article": 157, "points": 0}


def test_planted_bad_events_are_quarantined_and_the_rest_imports(store, tmp_path):
    path = tmp_path / "planted.xes"
    path.write_text(PLANTED)
    report = read_xes(path, store)
    assert (report.events_imported, report.refused, report.objects_imported) == (3, 4, 2)
    refused = {r["position"]: (r["reason"], json.loads(r["record"])) for r in store.quarantine().to_pylist()}
    assert refused == {
        "trace 1 (case 'c1') event 2": ("missing activity (concept:name)",
                                        {"time:timestamp": "2024-05-01T11:00:00Z", "org:resource": "Pete"}),
        "trace 1 (case 'c1') event 3": ("missing timestamp (time:timestamp)", {"concept:name": "check"}),
        "trace 1 (case 'c1') event 4": ("unparsable timestamp '2024-13-45T00:00:00' (time:timestamp)",
                                        {"concept:name": "decide", "time:timestamp": "2024-13-45T00:00:00"}),
        "trace 2 event 1": ("missing case id (trace concept:name)",
                            {"concept:name": "orphan", "time:timestamp": "2024-05-03T00:00:00Z"}),
    }
    events = store.journey("c1", object_type="case").to_pylist()
    assert [(e["activity"], e["time"]) for e in events] == [
        ("register", dt.datetime(2024, 5, 1, 8, 0, 0, 250000)),  # +02:00 -> UTC
        ("pay", dt.datetime(2024, 5, 2)), ("pay", dt.datetime(2024, 5, 2)),  # identical events both kept
    ]
    assert json.loads(events[0]["attributes"]) == {"amount": 12, "rate": 0.5, "vip": True, "note": 'a & b <c> "d"'}
    objects = {r["id"]: r["attributes"] for r in store.query("SELECT id, attributes FROM object").to_pylist()}
    assert objects == {"c1": '{"opened":"2024-05-01T07:00:00"}', "empty": None}


def test_identity_id_is_the_event_id(store, tmp_path):
    path = tmp_path / "ids.xes"
    path.write_text(
        '<log><trace><string key="concept:name" value="t"/>'
        '<event><string key="concept:name" value="a"/><date key="time:timestamp" value="2024-01-01T00:00:00Z"/>'
        '<id key="identity:id" value="e-1"/></event>'
        '<event><string key="concept:name" value="b"/><date key="time:timestamp" value="2024-01-01T00:00:01Z"/>'
        '<string key="id" value="e-2"/></event></trace></log>')
    assert read_xes(path, store).events_imported == 2
    assert store.query("SELECT id FROM event ORDER BY code").column(0).to_pylist() == ["e-1", "e-2"]


def test_list_and_nested_attributes_are_counted_not_imported(store, tmp_path, caplog):
    path = tmp_path / "nested.xes"
    path.write_text(
        '<log><trace><string key="concept:name" value="t"/><event><string key="concept:name" value="a"/>'
        '<date key="time:timestamp" value="2024-01-01T00:00:00Z"/><string key="x" value="1"><int key="meta" value="2"/>'
        '</string><list key="l"><values><string key="i" value="v"/></values></list></event></trace></log>')
    read_xes(path, store)
    assert store.query("SELECT attributes FROM event").column(0)[0].as_py() == '{"x":"1"}'
    assert json.loads(store.runs()["parameters"][0].as_py())["attributes_not_imported"] == 3
    assert "not imported" in caplog.text


def test_truncated_gzip_and_non_xml_raise_format_error_and_change_nothing(store, tmp_path, data_dir):
    read_xes(data_dir / RUNNING, store)
    before = store.info()
    whole = (data_dir / "bpic2013-closed-problems/bpic2013_closed_problems.xes.gz").read_bytes()
    (tmp_path / "half.xes.gz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "notes.xes").write_text("case,activity,time\n1,a,2024-01-01\n")
    (tmp_path / "cut.xes").write_bytes(gzip.decompress(whole)[:100_000])
    (tmp_path / "html.xes").write_text("<html><body>hello</body></html>")
    for name, match in [("half.xes.gz", "truncated"), ("notes.xes", "not XML"), ("cut.xes", "truncated"),
                        ("html.xes", "root element")]:
        with pytest.raises(jm.errors.FormatError, match=match):
            read_xes(tmp_path / name, store)
    with pytest.raises(jm.errors.SourceNotFoundError):
        read_xes(tmp_path / "missing.xes", store)
    assert store.info() == before


def test_read_dispatches_xes_by_suffix(store, data_dir):
    report = read(data_dir / "bpic2013-closed-problems/bpic2013_closed_problems.xes.gz", store)
    assert (report.format, report.events_imported, report.objects_imported) == ("xes", 6_660, 1_487)


def test_object_type_names_the_trace_objects(store, data_dir):
    read_xes(data_dir / RUNNING, store, object_type="claim")
    assert store.info().objects_by_type == {"claim": 6}
    assert json.loads(store.runs()["parameters"][0].as_py())["object_type"] == "claim"


@pytest.mark.parametrize("log", [
    "bpic2012/bpic2012.xes.gz", "bpic2013-incidents/bpic2013_incidents.xes.gz",
    "bpic2013-closed-problems/bpic2013_closed_problems.xes.gz", "sepsis/sepsis_cases.xes.gz",
    "receipt/receipt.xes.gz", "helpdesk/helpdesk.xes.gz", "road-traffic-fines/roadtraffic100traces.xes",
    "running-example/running-example.xes",
])
def test_same_sequences_as_rustxes(store, data_dir, log):
    """An independent reader (rustxes, a Rust XES parser) gives the same cases, activities and times."""
    path = data_dir / log
    read_xes(path, store)
    frame, _ = rustxes.import_xes(str(path))
    theirs = list(frame.select("case:concept:name", "concept:name", "time:timestamp").iter_rows())
    ours = store.query("""SELECT o.id, e.type, e.time FROM event e JOIN event_object l ON l.event_code = e.code
                          JOIN object o ON o.code = l.object_code ORDER BY e.code""").to_pylist()
    assert [(r["id"], r["type"], r["time"]) for r in ours] == theirs


def test_small_chunks_give_the_same_result(store, tmp_path, monkeypatch):
    """Chunks of whole traces are numbered file-wide: positions and ords do not depend on the chunk size."""
    path = tmp_path / "planted.xes"
    path.write_text(PLANTED.replace("<trace>", "<!-- a <comment> -->\n  <trace>", 1))
    read_xes(path, store)
    expected = store.quarantine().select(["position", "reason"]).to_pylist(), store.process_view("case").to_pylist()
    monkeypatch.setattr("journeymine.ingest._xes._CHUNK", 64)
    monkeypatch.setattr("journeymine.ingest._xes._BLOCK", 64)
    with jm.connect(":memory:") as small:
        read_xes(path, small)
        got = small.quarantine().select(["position", "reason"]).to_pylist(), small.process_view("case").to_pylist()
    assert got == expected


def test_declared_encoding_and_invalid_utf8(store, tmp_path):
    latin = tmp_path / "latin.xes"
    latin.write_bytes('<?xml version="1.0" encoding="ISO-8859-1"?><log><trace><string key="concept:name" value="c"/>'
                      '<event><string key="concept:name" value="Grüße"/><date key="time:timestamp" '
                      'value="2024-01-01T00:00:00Z"/></event></trace></log>'.encode("latin-1"))
    read_xes(latin, store)
    assert store.info().events_by_type == {"Grüße": 1}
    broken = tmp_path / "broken.xes"
    broken.write_bytes(latin.read_bytes().replace(b"ISO-8859-1", b"UTF-8"))
    with pytest.raises(jm.errors.FormatError, match="not UTF-8"):
        read_xes(broken, store)


@pytest.mark.parametrize("log", ["planted", RUNNING, "sepsis/sepsis_cases.xes.gz", BPIC2012])
def test_the_compiled_and_numpy_first_pass_agree(tmp_path, data_dir, log):
    """``_scan.c`` (marks, tag names, string views, attribute quotes and special bytes, JSON objects)
    gives the NumPy/Arrow form's arrays, on real logs and on the planted file (single quotes, value before key: the slow
    path; references in keys and values)."""
    import numpy as np

    from journeymine.ingest import _xes

    assert _xes._compiled is not None  # built by setup.py
    path = tmp_path / "planted.xes"
    if log == "planted":
        path.write_text(PLANTED)
    else:
        path = data_dir / log
    slow = 0
    for i, (buf, n, last) in enumerate(_xes._chunks(path)):
        marks = [_xes._marks(buf, n, compiled=c) for c in (True, False)]
        assert all(np.array_equal(a, b) for a, b in zip(*marks))
        lt, end, kind, before, start, nl, mark, mt, li = _xes._structure(path, buf, n, 0 if i == 0 else 1, last)
        arr, close = np.frombuffer(buf, np.uint8), np.frombuffer(buf, np.uint8)[lt + 1] == 47
        tags = (buf, arr, _xes._unaligned(buf, "<u8"), lt + 1 + close, start | close, start)
        names = [_xes._names(*tags, compiled=c) for c in (True, False)]
        assert all(np.array_equal(x, y) for x, y in zip(*names))
        a = np.flatnonzero(start & (kind >= _xes.STRING))
        quotes = [_xes._quotes(buf, lt[a], end[a], nl[a], mark, mt, li[a], compiled=c) for c in (True, False)]
        assert all(np.array_equal(x, y) for x, y in zip(*quotes))
        slow += int((~quotes[0][0]).sum())
        u32, u64 = _xes._unaligned(buf, "<u4"), _xes._unaligned(buf, "<u8")
        q0, q1 = quotes[0][1] + quotes[0][0], quotes[0][2]
        views = [_xes._views(buf, u32, u64, q0, q1, compiled=c).to_arrow() for c in (True, False)]
        assert views[0].buffers()[1].to_pybytes() == views[1].buffers()[1].to_pybytes()
    assert slow > 0 if log == "planted" else True
    objects = []  # the JSON objects of events and traces: C pass and Arrow list join, on every chunk of the file
    original = _xes._objects

    def both(frag, owner, rows, size):
        pair = [original(frag, owner, rows, size, compiled=c) for c in (True, False)]
        objects.append(pair[0].equals(pair[1]))
        return pair[0]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_xes, "_objects", both)
        read_xes(path, jm.connect(":memory:"))
    assert objects and all(objects)


def test_a_repeated_key_keeps_the_first_value_even_when_a_value_or_the_key_needs_decoding(store, tmp_path):
    """First wins, whatever the spelling: a value with a reference next to a plain repeat, and a key
    written with a character reference (``n&#111;te``) repeating the plain ``note``."""
    path = tmp_path / "repeats.xes"
    path.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<log><trace><string key="concept:name" value="c1"/>
  <event><string key="concept:name" value="a"/><date key="time:timestamp" value="2024-05-01T10:00:00Z"/>
    <string key="note" value="x &amp; y"/><string key="note" value="z"/></event>
  <event><string key="concept:name" value="b"/><date key="time:timestamp" value="2024-05-01T11:00:00Z"/>
    <string key="note" value="first"/><string key="n&#111;te" value="second"/></event>
</trace></log>""")
    read_xes(path, store)
    rows = store.query("SELECT type, attributes FROM event ORDER BY code").to_pylist()
    assert [(r["type"], json.loads(r["attributes"])) for r in rows] == [("a", {"note": "x & y"}), ("b", {"note": "first"})]
    assert [r["attributes"].count('"note"') for r in rows] == [1, 1]
