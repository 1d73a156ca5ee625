"""``journeymine dfg``, ``journeymine variants`` and ``journeymine durations``: the process view of a type."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm

from ._app import JsonOpt, StoreOpt, _edge, _emit, _pct, _require_store, _seconds, app, out

__all__ = ["dfg", "durations", "variants"]

TypeOpt = Annotated[str, typer.Option("--object-type", "-t", help="The object type whose objects are the cases.")]


@app.command()
def dfg(
    store: StoreOpt,
    object_type: TypeOpt = "case",
    keep_activities: Annotated[int | None, typer.Option(help="Keep only the N most frequent activities.")] = None,
    keep_edges: Annotated[int | None, typer.Option(help="Keep only the N most frequent edges.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The directly-follows graph: edge counts, cases, waiting times, start and end activities."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.discover_dfg(s, object_type, keep_activities=keep_activities, keep_edges=keep_edges)

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
