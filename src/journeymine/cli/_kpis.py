"""``journeymine kpis``: the headline KPIs of a store over a period, by segment and calendar period."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm
from journeymine.journeys._kpis import KPIS

from ._app import JsonOpt, StoreOpt, _edge, _emit, _require_store, app, out

__all__ = ["kpis"]

RATES = {"session_conversion", "customer_conversion", "repeat_purchase_rate", "retention_rate"}
SHORT = {"session_conversion": "session conv.", "customer_conversion": "customer conv.", "repeat_purchase_rate":
         "repeat", "retention_rate": "retention", "average_order_value": "AOV", "purchase_frequency": "frequency",
         "contact_rate": "contacts/100", "nps": "NPS", "csat": "CSAT"}


def _value(kpi: str, value: float | None) -> str:
    if value is None:
        return "-"
    if kpi in RATES:
        return f"{100 * value:.1f}%"
    if kpi == "nps":
        return f"{value:+.0f}"
    return f"{value:,.1f}" if kpi == "contact_rate" else f"{value:,.2f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _interval(row: jm.KpiRow) -> str:
    return "-" if row.low is None else f"{_value(row.kpi, row.low)} .. {_value(row.kpi, row.high)}"


def _tables(result: jm.KpiResult) -> list[Table]:
    segments = list(dict.fromkeys(r.segment for r in result.rows))
    tables = []
    for segment in segments:
        rows = [r for r in result.rows if r.segment == segment]
        title = "all customers" if segment == "(all)" else f"{result.segment} = {segment}"
        table = Table(title=title, title_justify="left")
        table.add_column("KPI")
        if result.interval is None:
            for col in ("value", "numerator", "denominator", "95 % interval"):
                table.add_column(col, justify="right")
            for r in rows:
                table.add_row(r.kpi, _value(r.kpi, r.value), _number(r.numerator), f"{r.denominator:,}", _interval(r))
        else:  # one row per period, one column per KPI
            table.columns[0].header = f"{result.interval} from"
            for kpi in KPIS:
                table.add_column(SHORT[kpi], justify="right")
            for start in dict.fromkeys(r.period_start for r in rows):
                table.add_row(f"{start:%Y-%m-%d}", *[_value(r.kpi, r.value) for r in rows if r.period_start == start])
        tables.append(table)
    return tables


@app.command()
def kpis(
    store: StoreOpt,
    start: Annotated[str | None, typer.Option(help="Period start, ISO date/time (default: the first event).")] = None,
    end: Annotated[str | None, typer.Option(help="Period end, exclusive (default: just after the last event).")] = None,
    segment: Annotated[str | None, typer.Option(help="Break down by this customer attribute, e.g. region.")] = None,
    interval: Annotated[str | None, typer.Option(help="Split the period into calendar periods: week or month.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Conversion, repeat purchase, retention, order value, frequency, contact rate, NPS and CSAT."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = jm.kpis(s, start=start, end=end, segment=segment, interval=interval)

    def render() -> None:
        when = "no events" if result.start is None else f"{result.start:%Y-%m-%d %H:%M} .. {result.end:%Y-%m-%d %H:%M}"
        out.print(f"[bold]KPIs of {store}[/bold], {when}" + (f", by {result.interval}" if result.interval else ""),
                  highlight=False)
        for table in _tables(result):
            out.print(table)
        out.print("Definitions (numerator / denominator):", highlight=False)
        for kpi, text in {r.kpi: r.definition for r in result.rows}.items():
            out.print(f"  {kpi}: {text}", highlight=False, markup=False)

    _emit(as_json, result.to_dict(), render)
