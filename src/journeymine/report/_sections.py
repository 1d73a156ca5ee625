"""One function per report section: ``(result, *, top) -> Section``, drawn from result objects only.

Each function reads the fields and ``to_arrow()`` tables of the results the builder (``_build``)
computed and returns a :class:`~journeymine.report._page.Section` with a heading, its charts and tables,
and ``rows`` = the data rows it shows. No function here queries a store: what a section shows can always
be traced to a result object a user can compute with the same call. A per-item failure (one J2P outcome,
one P2J KPI) arrives as its message text and is shown as one line in place of that item.

Adding a section: write ``def my_section(result, *, top=10) -> Section`` here (use :func:`section`,
:func:`table` and the charts) and add one ``Part`` to ``PARTS`` in ``_build``.
"""

from __future__ import annotations

import pyarrow as pa

from ..combined import Explanation, Impact, JourneyMap, Priorities
from ..journeys import FunnelResult, KpiResult, Overview
from ..processes import DFG, Bottlenecks, ProcessMap, Variants
from ._charts import bars, dot_whisker, funnel_chart, line_chart
from ._page import (
    Column,
    Section,
    esc,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    fmt_pp,
    fmt_seconds,
    section,
    table,
    tiles,
)

__all__ = ["bottlenecks_section", "cause", "funnel_section", "j2p_section", "journey_map_section", "kpis_section",
           "p2j_section", "priorities_section", "process_map_section", "variants_section"]

TEXT = {"numeric": False}
_KPI_FMT = {"session_conversion": fmt_pct, "customer_conversion": fmt_pct, "repeat_purchase_rate": fmt_pct,
            "retention_rate": fmt_pct, "average_order_value": fmt_num, "purchase_frequency": fmt_num,
            "contact_rate": fmt_num, "nps": fmt_num, "csat": fmt_num}
_TREND = (("session_conversion", "Session conversion per week", fmt_pct),
          ("average_order_value", "Average order value per week", fmt_num),
          ("contact_rate", "Contacts per 100 orders per week", fmt_num))


def _hours(value: object) -> str:
    return f"{fmt_num(value)} h"


def _interval(low: object, high: object, fmt=fmt_num) -> str:
    return "" if low is None or high is None else f"95 % {fmt(low)} to {fmt(high)}"


def kpis_section(result: tuple[KpiResult, KpiResult, Overview], *, top: int = 10) -> Section:
    """Headline tiles (``jm.overview`` counts, ``jm.kpis`` over the whole store), the KPI table and
    weekly trend charts (``jm.kpis(interval="week")``, with 95 % bands where the KPI has them)."""
    whole, weekly, o = result
    row = {r.kpi: r for r in whole.rows if r.segment == "(all)"}
    items = [("Customers", fmt_int(o.customers), f"{fmt_int(o.visitors)} anonymous visitors"),
             ("Sessions", fmt_int(o.sessions), f"{fmt_int(o.sessions_with_order)} with an order"),
             ("Orders", fmt_int(o.orders), f"{fmt_int(o.events)} events in all")]
    for kpi, label in (("session_conversion", "Session conversion"), ("repeat_purchase_rate", "Repeat purchase"),
                       ("average_order_value", "Average order value"), ("contact_rate", "Contacts per 100 orders"),
                       ("nps", "NPS"), ("csat", "CSAT (1-5)")):
        r = row.get(kpi)
        if r is not None:
            f = _KPI_FMT[kpi]
            items.append((label, f(r.value), _interval(r.low, r.high, f) or f"{fmt_num(r.numerator)} / "
                          f"{fmt_int(r.denominator)}"))
    rows = [{"kpi": r.kpi, "value": _KPI_FMT[r.kpi](r.value), "interval": _interval(r.low, r.high, _KPI_FMT[r.kpi]),
             "numerator": r.numerator, "denominator": r.denominator, "definition": r.definition}
            for r in whole.rows if r.segment == "(all)"]
    charts = []
    for kpi, title, f in _TREND:
        rs = [r for r in weekly.rows if r.kpi == kpi and r.segment == "(all)"]
        if rs:
            band = ([r.low for r in rs], [r.high for r in rs]) if any(r.low is not None for r in rs) else None
            charts.append(line_chart([r.period_start for r in rs], [(title, [r.value for r in rs])], band=band,
                                     fmt=f, title=title, width=420, height=220))
    body = (tiles(items) + f'<div class="charts">{"".join(charts)}</div>'
            + table(rows, [Column("kpi", "KPI", **TEXT), Column("value", "value", str),
                           Column("interval", "95 % interval", str), Column("numerator", "numerator", fmt_num),
                           Column("denominator", "denominator", fmt_int), Column("definition", "definition", **TEXT)]))
    span = f"From {whole.start:%Y-%m-%d} to {whole.end:%Y-%m-%d}; " if whole.start and whole.end else ""
    return section("kpis", "KPIs", body, len(rows),
                   intro=span + "weeks are ISO weeks (the first and last may be partial).")


def funnel_section(result: FunnelResult, *, top: int = 10) -> Section:
    """The shop funnel per session: a funnel chart and the step table (``jm.funnel``)."""
    steps = result.steps
    body = funnel_chart([s.name for s in steps], [s.count for s in steps], title="Shop funnel")
    body += table(result.step_table(), [
        Column("step", "step", fmt_int), Column("name", "step name", **TEXT), Column("count", "reached", fmt_int),
        Column("conversion_from_start", "from start", fmt_pct), Column("conversion_from_prev", "from previous", fmt_pct),
        Column("median_seconds_from_prev", "median time from previous", fmt_seconds),
        Column("dropped", "dropped here", fmt_int)])
    unit = result.object_type if result.by.startswith("object") else result.by
    return section("funnel", "Shop funnel", body, len(steps), intro=(
        f"{fmt_int(result.actors_total)} {unit}s entered; each step is the earliest event after the previous one "
        f"within {fmt_seconds(result.window_seconds)} of entry (jm.funnel, entry at the first step-1 event)."))


def _emotion(value: object) -> str:
    return "" if value is None else f"{float(value):+.2f}"


def journey_map_section(result: JourneyMap, *, top: int = 10) -> Section:
    """The journey map (``jm.journey_map``, lane "all"): reach per stage, the emotion curve with 95 %
    intervals, the stage table, the busiest touchpoints and the process steps behind each stage."""
    stages = [r for r in result.stages.to_pylist() if r["lane"] == "all"]
    reach = bars([r["stage"] for r in stages], [r["actors"] for r in stages], fmt=fmt_int, horizontal=False,
                 title=f"{result.actor.capitalize()}s reaching each stage")
    felt = [r for r in stages if r["answers"]]
    curve = dot_whisker([r["stage"] for r in felt], [r["emotion"] for r in felt], [r["emotion_low"] for r in felt],
                        [r["emotion_high"] for r in felt], fmt=_emotion,
                        title="Emotion per stage (NPS/CSAT on -2..+2, 95 % interval)") if felt else ""
    body = f'<div class="charts">{reach}{curve}</div>' + table(stages, [
        Column("stage", "stage", **TEXT), Column("actors", result.actor + "s", fmt_int), Column("share", "share", fmt_pct),
        Column("drop_off", "never reached from previous", fmt_pct),
        Column("median_seconds_from_previous", "median time from previous", fmt_seconds),
        Column("answers", "survey answers", fmt_int), Column("emotion", "emotion", _emotion),
        Column("contacts_per_100", "contacts per 100", fmt_num)])
    touch = sorted((r for r in result.touchpoints.to_pylist() if r["lane"] == "all" and r["channel"] == "all"),
                   key=lambda r: -r["events"])[:top]
    body += table(touch, [Column("stage", "stage", **TEXT), Column("touchpoint", "touchpoint", **TEXT),
                          Column("events", "events", fmt_int), Column("actors", result.actor + "s", fmt_int)],
                  caption=f"The {len(touch)} busiest touchpoints")
    order = {name: i for i, name in enumerate(result.stage_names)}
    steps = sorted((r for r in result.process_steps.to_pylist() if r["lane"] == "all"),
                   key=lambda r: -r["events"])[:2 * top]
    steps.sort(key=lambda r: (order[r["stage"]], -r["events"]))
    body += table(steps, [Column("stage", "stage", **TEXT), Column("process", "process", **TEXT),
                          Column("activity", "process step", **TEXT), Column("events", "events", fmt_int),
                          Column("median_wait_seconds", "median wait", fmt_seconds),
                          Column("p90_wait_seconds", "90th percentile wait", fmt_seconds)],
                  caption="The process steps behind the stages (backstage), busiest first within each stage")
    return section("journey-map", "Journey map", body, len(stages), intro=(
        f"{fmt_int(result.actors)} {result.actor}s over {len(stages)} stages; a stage is reached with any of its "
        "touchpoints, emotion is the mean survey score at its touchpoints, and each process step sits under the "
        "stage of its own object's last touchpoint (jm.journey_map)."))


def _value(row: dict) -> str:
    if row["value"] is None:
        return ""
    if row["low"] is None:
        return f"{fmt_int(row['value'])} {row['unit']}"
    return f"{fmt_int(row['value'])} {row['unit']} ({fmt_int(row['low'])} to {fmt_int(row['high'])})"


def priorities_section(result: Priorities, *, top: int = 10) -> Section:
    """What to do first (``jm.priorities``): the journey pains by the outcomes a fix avoids (dot and
    whisker), then the process levers by hours waited, each with its evidence sentence."""
    rows = result.items.to_pylist()
    pains = [r for r in rows if r["kind"] == "pain"][:top]
    chart = dot_whisker([f"{r['rank']}. {r['action']}" for r in pains], [r["value"] for r in pains],
                        [r["low"] for r in pains], [r["high"] for r in pains], fmt=fmt_int,
                        title="Journey pains: outcomes a fix would avoid (95 % interval)") if pains else ""
    shown = [r | {"worth": _value(r)} for r in rows]
    body = chart + table(shown, [
        Column("rank", "#", fmt_int), Column("kind", "kind", **TEXT), Column("action", "action", **TEXT),
        Column("outcome", "journey outcome", **TEXT), Column("worth", "what it is worth", **TEXT)])
    said = "".join(f"<li>{esc(r['rank'])}. {esc(r['evidence'])}</li>" for r in rows)
    body += f'<ul class="sentences">{said}</ul>' if said else ""
    return section("priorities", "Priorities", body, len(rows), intro=(
        "One ranked action list (jm.priorities): first the journey pains, significant jm.explain findings ranked by "
        "the lower bound of the outcomes a fix would avoid; then the process levers with the most waiting or rework, "
        "with a model-based projection (jm.what_if) where the wait comes before the outcome."))


def cause(row: dict) -> str:
    """A J2P finding's candidate cause in a few words."""
    if row["kind"] == "wait":
        return f"{row['activity']}: wait > {fmt_seconds(row['threshold_seconds'])}"
    if row["kind"] == "occurred":
        return f"{row['activity']} happened"
    if row["kind"] == "rework":
        return f"{row['activity']} repeated"
    return str(row["detail"] or row["kind"])


def _explanation(name: str, e: Explanation, top: int) -> tuple[str, int]:
    rows = e.top(top)
    head = (f'<h3>{esc(name)}</h3><p class="summary">{esc(e.outcome)}: {fmt_int(e.outcomes)} of {fmt_int(e.units)} '
            f'{esc(e.object_type)}s; {fmt_int(e.tested)} candidate causes tested, '
            f'{fmt_int(len(e.sentences()))} significant (q &lt;= 0.05).</p>')
    if not rows:
        return head + '<p class="note">No candidate cause had enough support to be tested.</p>', 0
    labels = [f"{i + 1}. {cause(r)}" for i, r in enumerate(rows)]
    chart = dot_whisker(labels, [r["risk_difference"] for r in rows], [r["rd_low"] for r in rows],
                        [r["rd_high"] for r in rows], fmt=fmt_pp, title=f"Risk difference with 95 % interval: {name}")
    shown = [r | {"rank": i + 1, "cause": cause(r)} for i, r in enumerate(rows)]
    tab = table(shown, [
        Column("rank", "#", fmt_int), Column("process", "process", **TEXT), Column("cause", "cause", **TEXT),
        Column("exposed", "exposed", fmt_int), Column("rate_exposed", "rate exposed", fmt_pct),
        Column("rate_unexposed", "rate others", fmt_pct), Column("risk_difference", "difference", fmt_pp),
        Column("rd_low", "low", fmt_pp), Column("rd_high", "high", fmt_pp), Column("q_value", "q", fmt_p),
        Column("significant", "significant", **TEXT), Column("attributable", "avoidable outcomes", fmt_int)])
    said = "".join(f"<li>{esc(s)}</li>" for s in e.sentences()[:3])
    return head + chart + tab + (f'<ul class="sentences">{said}</ul>' if said else ""), len(rows)


def j2p_section(result: dict[str, Explanation | str], *, top: int = 10) -> Section:
    """Journey to process: per outcome, the top findings of ``jm.explain``, a dot-and-whisker chart of
    their risk differences and the sentences of the best significant ones."""
    parts, n = [], 0
    for name, e in result.items():
        if isinstance(e, str):
            parts.append(f'<h3>{esc(name)}</h3><p class="error">{esc(e)}</p>')
            continue
        html, k = _explanation(name, e, top)
        parts.append(html)
        n += k
    if not parts:
        return section("j2p", "Journey to process", "", 0, error="No journey outcome was given.")
    return section("j2p", "Journey to process", "".join(parts), n, intro=(
        "Which process steps go with a journey pain (jm.explain): risk difference = outcome rate of the exposed "
        "units minus that of the others, Newcombe 95 % interval, Benjamini-Hochberg q; significant first."))


def p2j_section(result: tuple[object, dict[str, Impact | str]] | None, *, top: int = 10) -> Section:
    """Process to journey: per KPI, the level change at the process change (``jm.impact``) with its
    95 % interval, and the per-day means with the fitted segmented line."""
    if result is None:
        return section("p2j", "Process to journey", "", 0, error="No change date given: pass change= (or --change) "
                       "to measure what a process change did to the journey.")
    at, impacts = result
    parts, rows = [], []
    for name, m in impacts.items():
        if isinstance(m, str):
            parts.append(f'<h3>{esc(name)}</h3><p class="error">{esc(m)}</p>')
            continue
        rate = not m.kpi.startswith("hours from")  # a jm.duration_between KPI; the others are 0/1 rates
        f = fmt_pp if rate else _hours
        rows.append({"kpi": name, "unit": m.object_type, "before": m.before_mean, "after": m.after_mean,
                     "before_units": m.before_units, "after_units": m.after_units, "estimate": f(m.estimate),
                     "low": f(m.low), "high": f(m.high)})
        p = m.periods
        line = line_chart(p.column("period").to_pylist(), [("mean per day", p.column("mean").to_pylist()),
                                                           ("fitted", p.column("fitted").to_pylist())],
                          fmt=fmt_pct if rate else _hours, marker=(m.at, "change"), title=f"{name} per day",
                          width=460, height=220)
        dots = dot_whisker([name], [m.estimate], [m.low], [m.high], fmt=f, title=f"Change at {m.at:%Y-%m-%d}: {name}",
                           width=460)
        parts.append(f'<h3>{esc(name)}</h3><p class="summary">{esc(m.kpi)} per {esc(m.object_type)}: '
                     f"{esc(f(m.estimate))} (95 % {esc(f(m.low))} to {esc(f(m.high))}), {esc(m.method)}.</p>"
                     f'<div class="charts">{dots}{line}</div>')
    body = "".join(parts) + (table(rows, [
        Column("kpi", "KPI", **TEXT), Column("unit", "unit", **TEXT), Column("before", "mean before", fmt_num),
        Column("after", "mean after", fmt_num), Column("before_units", "units before", fmt_int),
        Column("after_units", "units after", fmt_int), Column("estimate", "change", str), Column("low", "low", str),
        Column("high", "high", str)]) if rows else "")
    return section("p2j", "Process to journey", body, len(rows), intro=(
        f"What the process change at {at:%Y-%m-%d} did to journey KPIs (jm.impact): level change of a segmented "
        "regression, cluster-bootstrap 95 % interval over customers."))


def process_map_section(result: tuple[DFG, ProcessMap], *, top: int = 10) -> Section:
    """The process map of the process object type (``jm.discover_dfg`` + ``jm.draw_dfg``) and its most
    frequent edges."""
    dfg, drawn = result
    edges = dfg.edges.slice(0, top)
    body = f'<div class="process-map">{drawn.svg}</div>' + table(edges, [
        Column("source", "from", **TEXT), Column("target", "to", **TEXT), Column("count", "count", fmt_int),
        Column("cases", "cases", fmt_int), Column("median_seconds", "median wait", fmt_seconds),
        Column("p90_seconds", "90th percentile wait", fmt_seconds)], caption=f"The {top} most frequent edges")
    return section("process-map", f"Process map: {dfg.object_type}", body, edges.num_rows, intro=(
        f"{fmt_int(dfg.cases)} {dfg.object_type} cases, {fmt_int(dfg.events)} events; boxes are activities "
        "(darker = more events), arrows directly-follows edges labelled with their count."))


def variants_section(result: Variants, *, top: int = 10) -> Section:
    """The most frequent variants (``jm.variants``) as a table and a bar chart of their cases."""
    t: pa.Table = result.table.slice(0, top)
    rows = [r | {"rank": i + 1, "steps": len(r["variant"])} for i, r in enumerate(t.to_pylist())]
    chart = bars([f"#{r['rank']} ({r['steps']} steps)" for r in rows], [r["cases"] for r in rows], fmt=fmt_int,
                 title=f"Cases per variant: {result.object_type}")
    body = chart + table(rows, [
        Column("rank", "#", fmt_int), Column("cases", "cases", fmt_int), Column("share", "share", fmt_pct),
        Column("mean_seconds", "mean duration", fmt_seconds), Column("variant", "variant", **TEXT)])
    return section("variants", f"Variants: {result.object_type}", body, len(rows), intro=(
        f"{fmt_int(result.total_variants)} variants over {fmt_int(result.total_cases)} cases; the {len(rows)} most "
        "frequent (a variant is a case's sequence of activities)."))


def bottlenecks_section(result: Bottlenecks, *, top: int = 10) -> Section:
    """Where cases wait (``jm.bottlenecks``): waiting per activity, ranked by total waiting time."""
    t = result.activities.slice(0, top)
    rows = t.to_pylist()
    chart = bars([r["activity"] for r in rows], [r["waiting_total_seconds"] / 3600 for r in rows],
                 fmt=lambda v: f"{fmt_int(v)} h", title=f"Total waiting hours per activity: {result.object_type}")
    body = chart + table(rows, [
        Column("activity", "activity", **TEXT), Column("instances", "instances", fmt_int),
        Column("waiting_mean_seconds", "mean wait", fmt_seconds),
        Column("waiting_median_seconds", "median wait", fmt_seconds),
        Column("waiting_p90_seconds", "90th percentile", fmt_seconds),
        Column("waiting_share", "share of all waiting", fmt_pct), Column("rework_cases", "rework cases", fmt_int)])
    q = result.throughput
    return section("bottlenecks", f"Bottlenecks: {result.object_type}", body, len(rows), intro=(
        f"{fmt_int(result.cases)} cases; throughput time median {fmt_seconds(q['median_seconds'])}, 90th percentile "
        f"{fmt_seconds(q['p90_seconds'])}. Waiting before an activity = time since the case's previous event."))
