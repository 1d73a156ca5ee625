"""draw_dfg: the SVG process map of a DFG, checked through the XML it writes."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.processes._dfg import DFG
from journeymine.processes._draw import ProcessMap, _human_seconds, draw_dfg

DATA = Path(__file__).resolve().parents[2] / "data"
SVG = "{http://www.w3.org/2000/svg}"
T0 = dt.datetime(2024, 1, 1)
LOG = [  # case, activity, seconds after T0: a b c with a repeat of b (self-loop) and one c -> b (loop-back)
    ("c1", "a", 0), ("c1", "b", 10), ("c1", "c", 7210),
    ("c2", "a", 0), ("c2", "b", 20), ("c2", "b", 25), ("c2", "c", 45),
    ("c3", "a", 5), ("c3", "c", 5), ("c3", "b", 9),
    ("c4", "a", 0), ("c4", "b", 40), ("c4", "c", 60_000),
]


def dfg_of(rows=LOG, **kwargs) -> DFG:
    store = jm.connect(":memory:")
    df = pd.DataFrame({"case": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows]})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="case")
    return jm.discover_dfg(store, **kwargs)


def chain_rows(names: list[str], cases: int = 3) -> list[tuple[str, str, int]]:
    return [(f"k{c}", a, 60 * i) for c in range(cases) for i, a in enumerate(names)]


def parse(pic: ProcessMap) -> ET.Element:
    root = ET.fromstring(pic.svg)
    assert root.tag == f"{SVG}svg"
    return root


def groups(root: ET.Element, *classes: str) -> list[ET.Element]:
    """The ``<g>`` elements that have all ``classes``."""
    return [g for g in root.iter(f"{SVG}g") if set(classes) <= set(g.get("class", "").split())]


def box(node: ET.Element) -> tuple[float, float, float, float]:
    rect, circle = node.find(f"{SVG}rect"), node.find(f"{SVG}circle")
    if "activity" in node.get("class"):
        x, y = float(rect.get("x")), float(rect.get("y"))
        return x, y, x + float(rect.get("width")), y + float(rect.get("height"))
    cx, cy, r = (float(circle.get(k)) for k in ("cx", "cy", "r"))
    return cx - r, cy - r, cx + r, cy + r


def assert_no_overlap(root: ET.Element) -> None:
    boxes = [box(n) for n in groups(root, "node")]
    for (a, b) in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def ends(edge: ET.Element) -> tuple[tuple[float, float], tuple[float, float]]:
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", edge.find(f"{SVG}path").get("d"))]
    return (numbers[0], numbers[1]), (numbers[-2], numbers[-1])


def test_one_node_per_activity_and_one_edge_per_dfg_edge():
    dfg = dfg_of()
    root = parse(draw_dfg(dfg))
    assert sorted(n.get("data-activity") for n in groups(root, "activity")) == ["a", "b", "c"]
    assert len(groups(root, "node")) == 5
    assert len(groups(root, "node", "start")) == len(groups(root, "node", "end")) == 1
    edges = groups(root, "edge")
    inner = {(e.get("data-source"), e.get("data-target")): e for e in edges
             if not {"start", "end"} & set(e.get("class").split())}
    assert set(inner) == {(r["source"], r["target"]) for r in dfg.edges.to_pylist()}
    assert len(inner) == dfg.edges.num_rows == len(edges) - len(dfg.start) - len(dfg.end)
    assert [e.get("data-target") for e in groups(root, "edge", "start")] == ["a"]
    assert sorted(e.get("data-source") for e in groups(root, "edge", "end")) == ["b", "c"]
    assert inner[("b", "b")].get("class") == "edge loop"
    assert inner[("c", "b")].get("class") == "edge back" and inner[("b", "c")].get("class") == "edge flow"
    (_, y0), (_, y1) = ends(inner[("c", "b")])
    assert y1 < y0  # the loop-back is drawn upward
    for g in groups(root, "node") + edges:
        assert g.find(f"{SVG}title").text  # every node and edge has a tooltip
    markers = {m.get("id") for m in root.iter(f"{SVG}marker")}
    assert {p.get("marker-end")[5:-1] for p in root.iter(f"{SVG}path") if p.get("marker-end")} <= markers


def test_tables_and_json_describe_the_layout():
    pic = draw_dfg(dfg_of())
    nodes = pic.to_pandas()
    assert list(nodes.columns) == ["name", "kind", "x", "y", "width", "height", "layer", "events"]
    assert nodes.kind.tolist() == ["activity"] * 3 + ["start", "end"]
    assert dict(zip(nodes.name[:3], nodes.events[:3])) == {"b": 5, "a": 4, "c": 4}
    assert nodes.events.tolist()[3:] == [4, 4]  # cases that start, cases that end
    assert nodes.layer.tolist()[-2] == 0 and nodes.layer.tolist()[-1] == nodes.layer.max()
    root = parse(pic)
    rect = {n.get("data-activity"): box(n) for n in groups(root, "activity")}
    for row in nodes[nodes.kind == "activity"].itertuples():
        x0, y0, x1, y1 = rect[row.name]
        assert (x0 + x1) / 2 == pytest.approx(row.x, abs=0.1) and (y0 + y1) / 2 == pytest.approx(row.y, abs=0.1)
    assert (nodes.x - nodes.width / 2).min() >= 0 and (nodes.x + nodes.width / 2).max() <= pic.width
    assert (nodes.y - nodes.height / 2).min() >= 0 and (nodes.y + nodes.height / 2).max() <= pic.height
    assert pic.to_dict()["edges"][0]["source"] == "a" and '"measure": "frequency"' in pic.to_json()


def test_node_boxes_never_overlap():
    fan = [(f"k{i}", a, 60 * j) for i in range(9) for j, a in enumerate(["in", f"branch number {i}", "out"])]
    for rows in (LOG, fan, LOG + fan):
        assert_no_overlap(parse(draw_dfg(dfg_of(rows))))


def test_an_acyclic_chain_flows_downward():
    names = ["receive", "check", "approve", "ship", "invoice"]
    pic = draw_dfg(dfg_of(chain_rows(names)))
    root = parse(pic)
    y = {n.get("data-activity"): box(n)[1] for n in groups(root, "activity")}
    assert [y[a] for a in names] == sorted(y[a] for a in names) and len(set(y.values())) == len(names)
    start, end = box(groups(root, "node", "start")[0]), box(groups(root, "node", "end")[0])
    assert start[3] < min(y.values()) and end[1] > max(y.values())
    edges = groups(root, "edge")
    assert len(edges) == len(names) - 1 + 2 and not groups(root, "back")
    for e in edges:
        (x0, y0), (x1, y1) = ends(e)
        assert y1 > y0
        assert x1 == pytest.approx(x0, abs=0.5)  # a chain is a straight line


def test_names_are_escaped_and_round_trip():
    odd = ['Tom & Jerry <"quoted">', "Prüfung der Müller'schen Akte", "tab\there", "bell\x07"]
    pic = draw_dfg(dfg_of(chain_rows(odd)))
    assert '<"quoted">' not in pic.svg
    root = parse(pic)
    names = [n.get("data-activity") for n in groups(root, "activity")]
    assert sorted(names) == sorted(odd[:3] + ["bell\ufffd"])
    assert {(e.get("data-source"), e.get("data-target")) for e in groups(root, "flow")} >= {(odd[0], odd[1])}
    titles = [n.find(f"{SVG}title").text for n in groups(root, "activity")]
    assert any(t.startswith(odd[0] + "\n") for t in titles)


def test_long_names_wrap_on_two_lines():
    name = "Send Appeal to Prefecture and wait for the answer"
    root = parse(draw_dfg(dfg_of(chain_rows(["start it", name]))))
    node = next(n for n in groups(root, "activity") if n.get("data-activity") == name)
    lines = [t.text for t in node.findall(f"{SVG}text") if t.get("class") != "count"]
    assert len(lines) == 2 and " ".join(lines) == name


def test_performance_colours_and_labels_differ_from_frequency():
    dfg = dfg_of()
    freq, perf = draw_dfg(dfg), draw_dfg(dfg, measure="performance")
    f, p = freq.edges.to_pandas(), perf.edges.to_pandas()
    assert f.label.tolist()[:2] == ["3", "3"] and f.stroke_width.tolist() == p.stroke_width.tolist()
    flows = p[p.kind.isin(["flow", "back", "loop"])].set_index(["source", "target"])
    assert flows.label[("b", "c")] == "2 h"  # median of 20 s, 2 h, 16.7 h
    assert flows.label[("a", "c")] == "0 s" and flows.label[("a", "b")] == "20 s"
    assert flows.colour[("b", "c")] == "#6e0b0b" and flows.colour[("a", "c")] == "#b8b8b8"  # slowest, fastest
    assert flows.colour[("a", "b")] not in ("#6e0b0b", "#b8b8b8")
    assert set(f.colour) != set(p.colour)
    fills = [{r.get("fill") for g in groups(parse(pic), "activity") for r in g.iter(f"{SVG}rect")}
             for pic in (freq, perf)]
    assert len(fills[0]) > 1 and fills[1] == {"#f4f4f4"}
    assert parse(perf).get("data-measure") == "performance"


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (45, "45 s"), (9.96, "10 s"), (90, "1.5 min"),
                                               (3.2 * 3600, "3.2 h"), (2.1 * 86400, "2.1 d"), (40 * 86400, "40 d"),
                                               (800 * 86400, "2.2 y"), (math.nan, "n/a")])
def test_human_seconds(seconds, text):
    assert _human_seconds(seconds) == text


def test_keep_edges_reduced_dfgs_render():
    dfg = dfg_of(keep_edges=2)
    root = parse(draw_dfg(dfg))
    assert len(groups(root, "activity")) == 3  # activities stay, even without edges
    assert len(groups(root, "edge")) == 2 + len(dfg.start) + len(dfg.end)
    assert_no_overlap(root)
    assert len(groups(parse(draw_dfg(dfg_of(keep_activities=1))), "activity")) == 1


def test_an_empty_dfg_draws_a_note():
    pic = draw_dfg(jm.discover_dfg(jm.connect(":memory:")))
    root = parse(pic)
    assert [t.text for t in root.iter(f"{SVG}text")] == ["No events to draw"]
    assert not groups(root, "node") and pic.nodes.num_rows == 0 and pic.edges.num_rows == 0


def test_bad_measure_and_dfg_raise_config_errors():
    with pytest.raises(ConfigError, match="'frequency', 'performance'") as err:
        draw_dfg(dfg_of(), measure="time")
    assert err.value.context == {"field": "measure"} and "'time'" in err.value.message
    with pytest.raises(ConfigError) as err:
        draw_dfg({"a": 1})
    assert err.value.context == {"field": "dfg"}


def test_same_dfg_same_bytes(tmp_path):
    one, two = draw_dfg(dfg_of(), measure="performance"), draw_dfg(dfg_of(), measure="performance")
    assert one.svg == two.svg and one.to_json() == two.to_json()
    path = one.save(tmp_path / "map.svg")
    assert path.read_bytes() == one.svg.encode("utf-8") and one._repr_svg_() == one.svg


def test_a_real_log_renders():
    store = jm.connect(":memory:")
    jm.read_xes(DATA / "sepsis" / "sepsis_cases.xes.gz", store)
    dfg = jm.discover_dfg(store)
    for measure in ("frequency", "performance"):
        pic = draw_dfg(dfg, measure=measure)
        root = parse(pic)
        assert len(groups(root, "activity")) == len(dfg.activities) == 16
        assert len(groups(root, "edge")) == dfg.edges.num_rows + len(dfg.start) + len(dfg.end)
        assert_no_overlap(root)
    labels = pic.edges.to_pandas().set_index(["source", "target"]).label
    assert labels[("ER Registration", "ER Triage")].endswith(("s", "min", "h", "d"))


def test_sixty_activities_and_four_hundred_edges_draw():  # (its speed: benchmarks/bench_process.py)
    names = [f"activity {i:02d}" for i in range(60)]
    pairs = sorted({(i, (i * 7 + k * k) % 60) for i in range(60) for k in range(1, 9)})[:400]
    edges = pa.table({"source": [names[i] for i, _ in pairs], "target": [names[j] for _, j in pairs],
                      "count": [1 + (i * j) % 50 for i, j in pairs], "cases": [1] * len(pairs),
                      "mean_seconds": [60.0 * (i + j) for i, j in pairs],
                      "median_seconds": [30.0 * (i + j) for i, j in pairs], "p90_seconds": [90.0] * len(pairs)})
    dfg = DFG(object_type="case", cases=100, events=5000, edges=edges, start={names[0]: 60, names[1]: 40},
              end={names[59]: 100}, activities={a: 100 - i for i, a in enumerate(names)})
    pic = draw_dfg(dfg, measure="performance")
    root = parse(pic)
    assert len(groups(root, "edge")) == len(pairs) + 3
    assert_no_overlap(root)
