"""The offline HTML report on the test company (change at day 45), parsed with the stdlib HTML parser: every
section is there with data, its numbers are the result objects' (checked against direct SQL where one is
simple), nothing external is referenced, tags nest, and labels from the data are escaped."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

import journeymine as jm
from journeymine.combined._defaults import retail_outcomes
from journeymine.errors import ConfigError
from journeymine.report import build_report
from journeymine.report._build import PARTS, SHOP_STEPS
from journeymine.report._charts import bars, dot_whisker, funnel_chart, line_chart

CHANGE = "2026-02-19"
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


class Page(HTMLParser):
    """Sections with their heading, table cells per row, marks and text; and a check of tag nesting."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.refs: list[tuple[str, str]] = []
        self.sections: dict[str, dict] = {}
        self.current: dict | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.heading = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.refs += [(k, v or "") for k, v in attrs if k in ("src", "href", "xlink:href", "action", "srcset")]
        if tag not in VOID:
            self.stack.append(tag)
        self._open(tag, a)

    def handle_startendtag(self, tag, attrs):
        self.refs += [(k, v or "") for k, v in attrs if k in ("src", "href", "xlink:href")]
        self._open(tag, dict(attrs))

    def _open(self, tag, a):
        if tag == "section":
            if self.current is not None:
                self.errors.append("section inside section")
            self.current = {"id": a.get("id"), "rows": int(a["data-rows"]), "h2": "", "trs": [], "marks": 0,
                            "svgs": 0, "text": [], "errors": []}
            self.sections[a.get("id")] = self.current
        elif self.current is not None:
            if tag == "h2":
                self.heading = True
            elif tag == "tr" and "tbody" in self.stack:
                self.row = []
            elif tag == "td" and self.row is not None:
                self.cell = []
            elif tag == "svg":
                self.current["svgs"] += 1
            elif tag == "p" and a.get("class") == "error":
                self.current["errors"].append("")
            if "mark" in (a.get("class") or "").split() or "node" in (a.get("class") or "").split():
                self.current["marks"] += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()
        if tag == "section":
            self.current = None
        elif tag == "h2":
            self.heading = False
        elif tag == "td" and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current["trs"].append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.current is None:
            return
        self.current["text"].append(data)
        if self.heading:
            self.current["h2"] += data
        if self.cell is not None:
            self.cell.append(data)
        if self.current["errors"] and "p" in self.stack:
            self.current["errors"][-1] += data


@pytest.fixture(scope="module")
def built(company):
    report = build_report(company.store, change=CHANGE, title="Nordwind <report>")
    return report, Page(report.html)


def test_every_section_is_there_in_order_with_a_heading_and_data(built):
    report, page = built
    assert [s.id for s in report.sections] == [p.id for p in PARTS] == list(page.sections)
    assert not page.errors and not page.stack  # balanced tags, sections not nested
    for s in report.sections:
        seen = page.sections[s.id]
        assert s.error is None, (s.id, s.error)
        assert seen["h2"].strip() and seen["rows"] == s.rows > 0
        assert len(seen["trs"]) >= s.rows and seen["svgs"] >= 1 and seen["marks"] > 0, s.id
    assert "Nordwind &lt;report&gt;" in report.html and "<report>" not in report.html


def test_no_external_reference_script_or_font(built):
    report, page = built
    assert all(v.startswith("#") for _, v in page.refs), page.refs
    low = report.html.lower()
    assert "<script" not in low and "@import" not in low and "@font-face" not in low
    assert not re.search(r"url\(\s*['\"]?(?!#)", low)  # only fragment references (SVG markers)
    assert "<link" not in low and "<iframe" not in low and "<img" not in low


def test_kpi_tiles_and_funnel_counts_are_the_results_and_the_store(built, company):
    _, page = built
    store = company.store
    orders = store.query("SELECT count(*) AS n FROM event WHERE type = 'order placed'").column("n")[0].as_py()
    assert f"{orders:,}" in "".join(page.sections["kpis"]["text"])
    kpi_rows = {r[0]: r for r in page.sections["kpis"]["trs"]}
    conv = jm.kpis(store).row("session_conversion")
    assert kpi_rows["session_conversion"][1] == f"{100 * conv.value:.1f} %"
    steps = [s for s in SHOP_STEPS if s in store.event_types()]
    f = jm.funnel(store, steps, "1d", by="object:session")
    rows = page.sections["funnel"]["trs"]
    assert [r[1] for r in rows] == steps and [r[2] for r in rows] == [f"{s.count:,}" for s in f.steps]
    first = store.query("""SELECT count(DISTINCT o.code) AS n FROM event e JOIN event_object eo ON eo.event_code = e.code
                           JOIN object o ON o.code = eo.object_code
                           WHERE e.type = 'product viewed' AND o.type = 'session'""").column("n")[0].as_py()
    assert rows[0][2] == f"{first:,}"


def test_j2p_top_finding_is_explains_and_the_slow_picking_is_found(built, company):
    _, page = built
    outcome, process = retail_outcomes(company.store)["contact after order"]
    top = jm.explain(company.store, outcome, process=process).top(1)[0]
    first = page.sections["j2p"]["trs"][0]
    assert top["risk_difference"] == pytest.approx(top["rate_exposed"] - top["rate_unexposed"])
    assert first[6] == f"{100 * top['risk_difference']:+.1f} pp" and first[3] == f"{top['exposed']:,}"
    text = "".join(page.sections["j2p"]["text"])
    assert "picking started: wait" in text and "payment verification completed: wait" in text


def test_p2j_estimates_are_impacts_and_hold_the_planted_truth(built, company):
    _, page = built
    truth = company.truth.effect("faster_picking", "where-is-my-order contact")["true_effect"]
    m = jm.impact(company.store, jm.followed_by("order", "order placed", "service contact", "14d"), CHANGE,
                  bootstrap=200, seed=0)
    assert m.low <= truth <= m.high
    row = {r[0]: r for r in page.sections["p2j"]["trs"]}["contacts after order"]
    assert row[6:9] == [f"{100 * v:+.1f} pp" for v in (m.estimate, m.low, m.high)]
    assert row[4:6] == [f"{m.before_units:,}", f"{m.after_units:,}"]


def test_process_sections_show_the_order_process(built, company):
    report, page = built
    dfg = jm.discover_dfg(company.store, "order", keep_activities=25)
    html = next(s.html for s in report.sections if s.id == "process-map")
    assert all(f'data-activity="{a}"' in html for a in dfg.activities)
    v = jm.variants(company.store, "order", top=10)
    assert [r[1] for r in page.sections["variants"]["trs"]] == [f"{n:,}" for n in v.table.column("cases").to_pylist()]
    b = jm.bottlenecks(company.store, "order").activities.column("activity").to_pylist()[:10]
    assert [r[0] for r in page.sections["bottlenecks"]["trs"]] == b


def _tiny_store():
    rows = [{"order": f"o{i}", "act": a, "ts": f"2026-01-{1 + i % 20:02d} {10 + k}:00"}
            for i in range(40) for k, a in enumerate(['<b>&"x"</b>', "pick & pack", "ship <fast>"][: 2 + i % 2])]
    store = jm.connect(":memory:")
    jm.read_frame(pd.DataFrame(rows), store, activity_col="act", timestamp_col="ts", objects={"order": "order"})
    return store


def test_labels_are_escaped_and_missing_event_types_become_one_line(caplog):
    store = _tiny_store()
    with caplog.at_level(logging.WARNING, logger="journeymine.report"):
        report = build_report(store, change="2026-01-10")
    page = Page(report.html)
    assert not page.errors and list(page.sections) == [p.id for p in PARTS]
    assert "<b>" not in report.html and '&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;' in report.html
    assert "ship <fast>" in "".join(page.sections["variants"]["text"] + page.sections["bottlenecks"]["text"])
    funnel = next(s for s in report.sections if s.id == "funnel")
    assert funnel.rows == 0 and "fewer than two" in funnel.error and page.sections["funnel"]["errors"]
    assert any("section funnel failed" in r.message for r in caplog.records)
    assert "no 'order placed' events" in "".join(page.sections["p2j"]["text"])
    assert page.sections["bottlenecks"]["rows"] == 3


def test_charts_escape_labels_and_draw_one_mark_per_value():
    for svg in (bars(["<&>", "b"], [1, 2], title="t<"), bars(["<&>"], [3], title="v", horizontal=False),
                funnel_chart(["<&>", "b"], [10, 4], title="f"),
                dot_whisker(["<&>", "b"], [0.1, None], [0.0, None], [0.2, None], title="d"),
                line_chart([1, 2, 3], [("<&>", [1.0, None, 2.0])], band=([0.5, 0.5, 1.0], [1.5, 1.5, 3.0]), title="l")):
        page = Page(f'<section id="x" data-rows="1">{svg}</section>')
        assert not page.errors and "<&>" not in svg and "&lt;&amp;&gt;" in svg
        assert page.sections["x"]["marks"] >= 1


def test_no_change_gives_a_note_and_bad_parameters_raise(small):
    report = build_report(small.store, top=3)
    p2j = next(s for s in report.sections if s.id == "p2j")
    assert p2j.rows == 0 and "No change date given" in p2j.error
    assert next(s for s in report.sections if s.id == "variants").rows == 3
    for kwargs, field in (({"top": 0}, "top"), ({"change": "soon"}, "change"), ({"bootstrap": 10}, "bootstrap"),
                          ({"outcomes": {"x": 1}}, "outcomes"), ({"exclude": "2026-01-25"}, "exclude"),
                          ({"exclude": [("2026-02-01", "2026-01-25")]}, "exclude")):
        with pytest.raises(ConfigError) as exc:
            build_report(small.store, **kwargs)
        assert exc.value.context["field"] == field


def test_journey_map_stages_are_the_results(built, company):
    report, page = built
    jmap = jm.journey_map(company.store)
    rows: dict[str, list[str]] = {}
    for r in page.sections["journey-map"]["trs"]:  # the stage table comes first
        rows.setdefault(r[0], r)
    for stage in jmap.stage_names:
        want = jmap.stage(stage)
        assert rows[stage][1] == f"{want['actors']:,}", stage
        assert rows[stage][6] == ("" if want["emotion"] is None else f"{want['emotion']:+.2f}"), stage
    assert jmap.stage("delivery")["answers"] > 0 and "Emotion per stage" in report.html


def test_priorities_are_the_results_pains_first(built, company):
    report, page = built
    ranked = jm.priorities(company.store, outcomes=retail_outcomes(company.store), bootstrap=200, seed=0)
    rows = page.sections["priorities"]["trs"]
    items = ranked.items.to_pylist()
    assert [r[2] for r in rows] == [r["action"] for r in items] and len(rows) >= 3
    kinds = [r[1] for r in rows]
    assert kinds[0] == "pain" and kinds == sorted(kinds, key=lambda k: k != "pain")  # pains before levers
    assert any("payment verification" in r["action"] for r in items if r["kind"] == "pain")
