"""``journeymine paths`` and ``journeymine step-matrix``: what customers do after (or before) an event."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm

from ._app import JsonOpt, StoreOpt, _edge, _emit, _require_store, app, out

__all__ = ["paths", "step_matrix"]

AnchorOpt = Annotated[str, typer.Option(help="The anchor event type, e.g. 'checkout payment'.")]
ByOpt = Annotated[str, typer.Option(help="Who is counted: customer, session (derived) or an object type.")]
OccurrenceOpt = Annotated[str, typer.Option(help="Which anchor event of each actor: first or last.")]
CollapseOpt = Annotated[bool, typer.Option("--collapse-repeats", help="Merge runs of the same event type into one.")]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help="An event type to leave out (repeatable).")]
StartOpt = Annotated[str | None, typer.Option(help="Only events at or after this ISO 8601 date or time.")]
EndOpt = Annotated[str | None, typer.Option(help="Only events before this ISO 8601 date or time.")]


def _share(x: float) -> str:
    return f"{x:.1%}"


@app.command("paths")
def paths(
    store: StoreOpt, anchor: AnchorOpt,
    direction: Annotated[str, typer.Option(help="forward (what came after) or backward (what led to it).")] = "forward",
    steps: Annotated[int, typer.Option(help="How many events after (or before) the anchor.")] = 5,
    top: Annotated[int, typer.Option(help="Events kept by name per step; the rest fold into 'other' (0: all).")] = 5,
    by: ByOpt = "customer", occurrence: OccurrenceOpt = "first", collapse_repeats: CollapseOpt = False,
    exclude: ExcludeOpt = None,
    max_paths: Annotated[int, typer.Option(help="How many of the most common paths to list.")] = 20,
    start: StartOpt = None, end: EndOpt = None, as_json: JsonOpt = False,
) -> None:
    """The most common paths from (or to) an anchor event, with the Sankey nodes per step."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.paths(s, anchor, direction=direction, steps=steps, top=top or None, by=by,
                              occurrence=occurrence, collapse_repeats=collapse_repeats, exclude=exclude or (),
                              max_paths=max_paths, start=start, end=end)

    def render() -> None:
        r = result
        out.print(f"[bold]{r.actors_total:,}[/bold] of {r.actors_seen:,} {r.by}s have '{r.anchor}' "
                  f"({r.occurrence} occurrence); {r.paths_distinct:,} distinct paths of {r.steps} steps "
                  f"{r.direction}", highlight=False)
        table = Table(title=f"top {r.paths.num_rows} paths", title_justify="left")
        for col, justify in (("path", "left"), ("actors", "right"), ("share", "right")):
            table.add_column(col, justify=justify)
        for row in r.paths.to_pylist():
            table.add_row(row["path"], f"{row['actors']:,}", _share(row["share"]))
        out.print(table)
        nodes = Table(title="nodes by step", title_justify="left")
        for col, justify in (("step", "right"), ("event", "left"), ("actors", "right"), ("share", "right")):
            nodes.add_column(col, justify=justify)
        for row in r.nodes.to_pylist():
            if row["step"] != 0:
                nodes.add_row(str(row["step"]), row["event"], f"{row['actors']:,}", _share(row["share"]))
        out.print(nodes)

    _emit(as_json, {"paths": result.to_dict()}, render)


@app.command("step-matrix")
def step_matrix(
    store: StoreOpt,
    steps: Annotated[int, typer.Option(help="How many steps (columns).")] = 10,
    anchor: Annotated[str | None, typer.Option(help="Count steps after this event (default: from the start).")] = None,
    before: Annotated[int, typer.Option(help="With --anchor: also this many steps before it.")] = 0,
    top: Annotated[int, typer.Option(help="Event rows kept by name, the rest sum into 'other' (0: all).")] = 0,
    by: ByOpt = "customer", occurrence: OccurrenceOpt = "first", collapse_repeats: CollapseOpt = False,
    exclude: ExcludeOpt = None, start: StartOpt = None, end: EndOpt = None, as_json: JsonOpt = False,
) -> None:
    """Share of actors whose k-th event (from the start, or after --anchor) is each event type."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.step_matrix(s, steps=steps, anchor=anchor, before=before, by=by, top=top or None,
                                    occurrence=occurrence, collapse_repeats=collapse_repeats,
                                    exclude=exclude or (), start=start, end=end)

    def render() -> None:
        r = result
        where = f"after '{r.anchor}'" if r.anchor else "from the start of each journey"
        table = Table(title=f"step matrix of {r.actors_total:,} {r.by}s, steps {where}", title_justify="left")
        table.add_column("event")
        for c in r.columns:
            table.add_column(str(c), justify="right")
        for name, shares in zip(r.events, r.shares):
            table.add_row(name, *(_share(x) if x else "." for x in shares))
        out.print(table)

    _emit(as_json, {"step_matrix": result.to_dict()}, render)
