"""``journeymine retention``: the cohort table and the retention curve."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm

from ._app import JsonOpt, StoreOpt, _edge, _emit, _require_store, app, out

__all__ = ["retention"]


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _table(result: jm.RetentionResult) -> Table:
    unit = result.period
    table = Table(title=f"Retention of {result.by}s: cohorts by first {result.start_event!r}; {result.returns} "
                        f"{result.return_event!r} returns counted {result.mode.replace('_', ' ')} {unit} N",
                  title_justify="left")
    table.add_column("cohort")
    table.add_column("size", justify="right")
    for n in range(result.periods):
        table.add_column(f"{unit} {n}", justify="right")
    for c in result.cohorts:
        table.add_row(c.start.isoformat(), f"{c.size:,}", *[_pct(s) for s in c.share])
    table.add_section()
    table.add_row("all cohorts", f"{result.actors_total:,}", *[_pct(p.share) for p in result.curve])
    table.add_row("at risk", "", *[f"{p.at_risk:,}" for p in result.curve])
    return table


@app.command()
def retention(
    store: StoreOpt,
    start_event: Annotated[str, typer.Option(help="The event type whose first occurrence puts an actor in a cohort.")],
    return_event: Annotated[str | None, typer.Option(help="The event type that counts as a return "
                                                          "(default: the start event).")] = None,
    period: Annotated[str, typer.Option(help="day, week (ISO, from Monday) or month, in UTC.")] = "week",
    periods: Annotated[int, typer.Option(help="Periods per cohort (N = 0 .. periods-1).")] = 8,
    returns: Annotated[str, typer.Option(help="recurring (every return) or first_time (the first).")] = "recurring",
    mode: Annotated[str, typer.Option(help="on (a return in period N) or on_or_after (in N or later).")] = "on",
    by: Annotated[str, typer.Option(help="customer, an object type or object:TYPE.")] = "customer",
    start: Annotated[str | None, typer.Option(help="Only events at or after this ISO date/time.")] = None,
    end: Annotated[str | None, typer.Option(help="Only events before this ISO date/time.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cohorts by first start event and the share of each that returns N periods later."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.retention(s, start_event, return_event, period=period, periods=periods, returns=returns,
                                   mode=mode, by=by, start=start, end=end)

    def render() -> None:
        if not result.cohorts:
            out.print(f"No {result.by} has a {result.start_event!r} event.", highlight=False)
            return
        out.print(_table(result))
        out.print(f"Blank cells: periods not fully observed (data observed until {result.observed_until}).",
                  highlight=False)

    _emit(as_json, result.to_dict(), render)
