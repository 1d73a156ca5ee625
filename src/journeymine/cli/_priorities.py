"""``journeymine priorities`` and ``process-costs``: the ranked action list (pains, then levers) and the
cost proxies of a process."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm

from ._app import JsonOpt, StoreOpt, _edge, _emit, _pct, _require_store, app, out

__all__ = ["priorities", "process_costs"]


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


@app.command()
def priorities(
    store: StoreOpt,
    levers: Annotated[int | None, typer.Option(help="How many levers by waiting and by rework (default 5).")] = None,
    confounder: Annotated[list[str] | None, typer.Option(help="Adjust the pains for ATTR or TYPE.ATTR "
                                                              "(repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """One ranked action list: the journey pains first (J2P), then the process levers (P2J)."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.priorities(s, levers=levers, confounders=confounder or [])

    def render() -> None:
        for name, o in result.outcomes.items():
            out.print(f"{name}: {o['outcomes']:,} of {o['units']:,} units ({o['label']})", highlight=False)
        table = Table(title="Priorities (pains by outcomes a fix recovers, lower bound first; then levers)",
                      title_justify="left")
        for col in ("#", "kind", "action", "outcome", "value", "95 % interval", "unit"):
            table.add_column(col, justify="right" if col in ("#", "value", "95 % interval") else "left")
        for r in result.items.to_pylist():
            interval = "-" if r["low"] is None else f"{r['low']:,.0f} .. {r['high']:,.0f}"
            table.add_row(str(r["rank"]), r["kind"], r["action"], r["outcome"] or "-", f"{r['value']:,.0f}",
                          interval, r["unit"])
        out.print(table)
        for sentence in result.sentences():
            out.print("• " + sentence, highlight=False)

    _emit(as_json, result.to_dict(), render)


@app.command("process-costs")
def process_costs(
    store: StoreOpt,
    object_type: Annotated[str, typer.Option("--type", "--object-type", "-t",
                                             help="The object type whose objects are the cases.")] = "order",
    contact: Annotated[str, typer.Option(help="The contact activity (not a touch; counted as contacts).")
                       ] = "service contact",
    period: Annotated[str | None, typer.Option(help="Also per day, week or month of the cases' arrival.")] = None,
    at: Annotated[str | None, typer.Option(help="Compare the cases that arrived before and after this time "
                                                "(ISO date or time, UTC).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cost proxies of a process: touches, rework, contacts and throughput hours per case."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.process_costs(s, object_type, contact=contact, period=period, at=at)

    def render() -> None:
        out.print(f"{result.cases:,} {result.object_type} cases: {_number(result.touches_per_case)} touches, "
                  f"{_number(result.rework_per_case)} rework events and {_number(result.contacts_per_case, 3)} "
                  f"contacts per case; {_pct(result.rework_share)} with rework; throughput mean "
                  f"{_number(result.throughput_mean_hours, 1)} h, median {_number(result.throughput_median_hours, 1)} h",
                  highlight=False)
        if result.comparison is not None:
            table = Table(title=f"Before and after {result.at:%Y-%m-%d %H:%M}", title_justify="left")
            for col in ("metric", "before", "after", "difference"):
                table.add_column(col, justify="left" if col == "metric" else "right")
            for r in result.comparison.to_pylist():
                digits = 0 if r["metric"] == "cases" else 3
                table.add_row(r["metric"], _number(r["before"], digits), _number(r["after"], digits),
                              "-" if r["difference"] is None else f"{r['difference']:+,.{digits}f}")
            out.print(table)
        if result.periods is not None:
            table = Table(title=f"Per {result.period} of arrival", title_justify="left")
            for col in ("period", "cases", "touches/case", "rework share", "contacts/case", "median hours"):
                table.add_column(col, justify="left" if col == "period" else "right")
            for r in result.periods.to_pylist():
                table.add_row(f"{r['period']:%Y-%m-%d}", f"{r['cases']:,}", _number(r["touches_per_case"]),
                              _pct(r["rework_share"]), _number(r["contacts_per_case"], 3),
                              _number(r["throughput_median_hours"], 1))
            out.print(table)

    _emit(as_json, result.to_dict(), render)
