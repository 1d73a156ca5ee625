"""``journeymine funnel`` and ``journeymine sessions``: the funnel table and the derived sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError

from ._app import JsonOpt, StoreOpt, _edge, _emit, _pct, _require_store, _seconds, app, out

__all__ = ["funnel", "sessions"]


def _steps_table(title: str, steps: tuple[jm.FunnelStep, ...]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("step", "actors", "from start", "from previous", "95 % interval", "median from prev"):
        table.add_column(col, justify="left" if col == "step" else "right")
    for i, s in enumerate(steps):
        interval = "-" if s.conversion_from_prev_low is None else \
            f"{_pct(s.conversion_from_prev_low)}-{_pct(s.conversion_from_prev_high)}"
        table.add_row(f"{i + 1}. {s.name}", f"{s.count:,}", _pct(s.conversion_from_start),
                      _pct(s.conversion_from_prev), interval, _seconds(s.median_seconds_from_prev if i else None))
    return table


@app.command()
def funnel(
    store: StoreOpt,
    steps: Annotated[str, typer.Option(help="Event types of the steps, comma-separated (e.g. view,cart,buy).")],
    window: Annotated[str, typer.Option(help="Conversion window from entry, e.g. 30m, 24h, 7d.")] = "7d",
    entry: Annotated[str, typer.Option(help="first (the first step-1 event starts) or any (deepest chain).")] = "first",
    order: Annotated[str, typer.Option(help="ordered, strict (nothing in between) or any_order.")] = "ordered",
    ties: Annotated[str, typer.Option(help="strict (equal times never chain) or allow (load order).")] = "strict",
    by: Annotated[str, typer.Option(help="customer, session (derived), an object type or object:TYPE.")] = "customer",
    breakdown: Annotated[str | None, typer.Option(help="Break down by this event (or --breakdown-from actor) attribute.")] = None,
    breakdown_from: Annotated[str, typer.Option(help="event or actor.")] = "event",
    attribution: Annotated[str, typer.Option(help="first_touch, last_touch or step=K.")] = "first_touch",
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="An exclusion event type (repeatable).")] = None,
    start: Annotated[str | None, typer.Option(help="Only events at or after this ISO date/time.")] = None,
    end: Annotated[str | None, typer.Option(help="Only events before this ISO date/time.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A conversion funnel: actors per step, conversion and time between steps."""
    with _edge(as_json):
        names = [s.strip() for s in steps.split(",") if s.strip()]
        if not names:
            raise ConfigError("--steps must name at least one event type, e.g. --steps view,cart,buy", field="steps")
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.funnel(s, names, window, entry=entry, order=order, ties=ties, by=by, breakdown=breakdown,
                               breakdown_from=breakdown_from, attribution=attribution, exclusions=exclude or (),
                               start=start, end=end)

    def render() -> None:
        out.print(_steps_table(f"Funnel by {result.by}, window {_seconds(result.window_seconds)}, entry "
                               f"{result.entry}: {result.steps[0].count:,} entered of {result.actors_total:,}",
                               result.steps))
        for value, group in result.groups.items():
            out.print(_steps_table(f"{result.breakdown} = {value}", group))
        if result.ignored_rows:
            out.print(f"{result.ignored_rows:,} step events belong to no {result.by} and were ignored.",
                      highlight=False)

    _emit(as_json, result.to_dict(), render)


@app.command()
def sessions(
    store: StoreOpt,
    of: Annotated[str, typer.Option(help="The object type whose journeys are split.")] = "customer",
    gap: Annotated[str, typer.Option(help="Inactivity that ends a session.")] = "30m",
    max_length: Annotated[str, typer.Option(help="Longest session.")] = "24h",
    out_path: Annotated[Path | None, typer.Option("--out", help="Write one row per session to this Parquet file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Split journeys into sessions by inactivity and a maximum length; print the summary."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.sessions(s, of=of, gap=gap, max_length=max_length)
        if out_path is not None:
            import pyarrow.parquet as pq

            pq.write_table(result.to_arrow(), out_path)

    def render() -> None:
        out.print(f"{result.sessions:,} sessions of {result.actors:,} {of} journeys ({result.events:,} events); "
                  f"median length {_seconds(result.median_duration_seconds)}, "
                  f"{result.mean_events_per_session or 0:.1f} events per session", highlight=False)
        if out_path is not None:
            out.print(f"Wrote one row per session to {out_path}", highlight=False)

    _emit(as_json, result.to_dict(), render)
