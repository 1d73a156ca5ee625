"""``journeymine dfg``, ``variants``, ``durations`` and ``bottlenecks``: the process view of a type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm

from ._app import JsonOpt, StoreOpt, _edge, _emit, _pct, _require_store, _seconds, app, out

__all__ = ["bottlenecks", "dfg", "durations", "variants"]

TypeOpt = Annotated[str, typer.Option("--object-type", "-t", help="The object type whose objects are the cases.")]


@app.command()
def dfg(
    store: StoreOpt,
    object_type: TypeOpt = "case",
    keep_activities: Annotated[int | None, typer.Option(help="Keep only the N most frequent activities.")] = None,
    keep_edges: Annotated[int | None, typer.Option(help="Keep only the N most frequent edges.")] = None,
    svg: Annotated[Path | None, typer.Option(help="Also draw the process map to this SVG file.")] = None,
    measure: Annotated[str, typer.Option(help="Colour the map by frequency or performance.")] = "frequency",
    as_json: JsonOpt = False,
) -> None:
    """The directly-follows graph: edge counts, cases, waiting times, start and end activities."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.discover_dfg(s, object_type, keep_activities=keep_activities, keep_edges=keep_edges)
        if svg is not None:
            jm.draw_dfg(result, measure=measure).save(svg)

    def render() -> None:
        table = Table(title=f"Directly-follows graph of {result.cases:,} {object_type} cases "
                            f"({result.events:,} events)", title_justify="left")
        for col in ("from", "to", "count", "cases", "median wait", "mean wait"):
            table.add_column(col, justify="right" if col not in ("from", "to") else "left")
        for e in result.edges.to_pylist():
            table.add_row(e["source"], e["target"], f"{e['count']:,}", f"{e['cases']:,}",
                          _seconds(e["median_seconds"]), _seconds(e["mean_seconds"]))
        out.print(table)
        out.print("start: " + ", ".join(f"{k} {v:,}" for k, v in result.start.items()), highlight=False)
        out.print("end: " + ", ".join(f"{k} {v:,}" for k, v in result.end.items()), highlight=False)

    _emit(as_json, result.to_dict(), render)


@app.command()
def variants(
    store: StoreOpt,
    object_type: TypeOpt = "case",
    top: Annotated[int | None, typer.Option(help="Keep the N most frequent variants.")] = 20,
    coverage: Annotated[float | None, typer.Option(help="Keep variants until they cover this share of cases.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The variants (distinct activity sequences) with their cases, share and mean throughput time."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.variants(s, object_type, top=top, coverage=coverage)

    def render() -> None:
        table = Table(title=f"{result.total_variants:,} variants of {result.total_cases:,} {object_type} cases",
                      title_justify="left")
        for col in ("cases", "share", "mean time", "variant"):
            table.add_column(col, justify="left" if col == "variant" else "right")
        for v in result.table.to_pylist():
            table.add_row(f"{v['cases']:,}", _pct(v["share"]), _seconds(v["mean_seconds"]), " → ".join(v["variant"]))
        out.print(table)

    _emit(as_json, result.to_dict(), render)


@app.command()
def durations(store: StoreOpt, object_type: TypeOpt = "case", as_json: JsonOpt = False) -> None:
    """Case throughput times: how long cases take from first to last event."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.case_durations(s, object_type)

    def render() -> None:
        out.print(f"{result.cases:,} {object_type} cases: median {_seconds(result.median_seconds)}, mean "
                  f"{_seconds(result.mean_seconds)}, 90 % within {_seconds(result.p90_seconds)}", highlight=False)

    _emit(as_json, result.to_dict(), render)


def _calendar(text: str | None) -> jm.BusinessHours | None:
    """``"Mon-Sat 06:00-22:00"`` (weekdays, then opening hours) as a calendar."""
    if text is None:
        return None
    parts = text.split()
    hours = parts[1].split("-") if len(parts) == 2 else []
    if len(hours) != 2:
        raise jm.errors.ConfigError(f"The --calendar option must look like 'Mon-Fri 09:00-17:00'. Got {text!r} "
                                    "instead.", field="calendar")
    return jm.BusinessHours(parts[0], hours[0], hours[1])


@app.command()
def bottlenecks(
    store: StoreOpt,
    object_type: TypeOpt = "case",
    by: Annotated[list[str] | None, typer.Option(help="An attribute whose values may go with long waits "
                                                      "(event attribute, or case:NAME); repeatable.")] = None,
    calendar: Annotated[str | None, typer.Option(help="Count working time only, e.g. 'Mon-Fri 09:00-17:00'.")] = None,
    period: Annotated[str, typer.Option(help="Arrivals and work in progress per day, week or month.")] = "week",
    min_instances: Annotated[int, typer.Option(help="Least waits for an attribute value to be reported.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Where cases wait: waiting and service time per activity, rework, the slowest transitions and values."""
    with _edge(as_json):
        _require_store(store)
        cal = _calendar(calendar)
        with jm.connect(store, read_only=True) as s:
            result = jm.bottlenecks(s, object_type, by=by or [], calendar=cal, period=period,
                                    min_instances=min_instances)

    def render() -> None:
        t = result.throughput
        out.print(f"{result.cases:,} {object_type} cases: throughput median {_seconds(t['median_seconds'])}, "
                  f"90 % within {_seconds(t['p90_seconds'])}" + (" (working time)" if cal else ""), highlight=False)
        table = Table(title="Where cases wait (most total waiting first)", title_justify="left")
        for col in ("activity", "share", "median wait", "p90 wait", "median service", "rework cases"):
            table.add_column(col, justify="left" if col == "activity" else "right")
        for a in result.activities.to_pylist()[:15]:
            table.add_row(a["activity"], _pct(a["waiting_share"]), _seconds(a["waiting_median_seconds"]),
                          _seconds(a["waiting_p90_seconds"]), _seconds(a["service_median_seconds"]),
                          f"{a['rework_cases']:,}")
        out.print(table)
        if result.attributes.num_rows:
            values = Table(title="Values that go with long waits", title_justify="left")
            for col in ("attribute", "activity", "value", "instances", "median wait", "excess"):
                values.add_column(col, justify="left" if col in ("attribute", "activity", "value") else "right")
            for a in result.attributes.to_pylist()[:10]:
                values.add_row(a["attribute"], a["activity"], a["value"], f"{a['instances']:,}",
                               _seconds(a["waiting_median_seconds"]), _seconds(a["excess_seconds"]))
            out.print(values)

    _emit(as_json, result.to_dict(), render)
