"""``journeymine conformance``: check a type's cases against a reference model (a file or the top variants)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError

from ._app import JsonOpt, StoreOpt, _edge, _emit, _pct, _require_store, _seconds, app, out

__all__ = ["conformance"]

TOP_VIOLATIONS = 15


@app.command()
def conformance(
    store: StoreOpt,
    object_type: Annotated[str, typer.Option("--object-type", "-t", help="The object type whose objects are the cases.")] = "case",
    model: Annotated[Path | None, typer.Option(help="The reference model (.toml or .json).")] = None,
    top_variants: Annotated[int | None, typer.Option(help="Instead of --model: the DFG of the N most frequent variants.")] = None,
    period: Annotated[str, typer.Option(help="Fitness over time by day, week or month of case start (UTC).")] = "week",
    as_json: JsonOpt = False,
) -> None:
    """Conformance to a reference model: fitness rate, top violations, effect on throughput time."""
    with _edge(as_json):
        if (model is None) == (top_variants is None):
            raise ConfigError("Give either --model FILE or --top-variants N (one of them).", field="model")
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            reference = model if model is not None else jm.derive_model(s, object_type, top_variants=top_variants)
            result = jm.check_conformance(s, reference, object_type, period=period)

    def render() -> None:
        name = result.model.name or (model.name if model is not None else "the model")
        if result.fitness is None:
            out.print(f"No {object_type} cases in the store.", highlight=False)
            return
        out.print(f"[bold]{result.fitting:,} of {result.cases:,} {object_type} cases fit {escape(name)}[/bold]: "
                  f"{_pct(result.fitness)} (95 % CI {_pct(result.fitness_low)} - {_pct(result.fitness_high)})")
        t = result.throughput
        if t["median_difference_seconds"] is not None:
            p = "" if t["p_value"] is None else f", Mann-Whitney p = {t['p_value']:.2g}"
            out.print(f"median throughput: fitting {_seconds(t['fitting']['median_seconds'])}, deviating "
                      f"{_seconds(t['deviating']['median_seconds'])}: {_signed(t['median_difference_seconds'])} "
                      f"(95 % CI {_signed(t['difference_low'])} .. {_signed(t['difference_high'])}{p})",
                      highlight=False)
        if result.violations.num_rows:
            table = Table(title=f"Top violations of {result.cases - result.fitting:,} deviating cases",
                          title_justify="left")
            for col in ("constraint", "cases", "share", "occurrences"):
                table.add_column(col, justify="left" if col == "constraint" else "right")
            for v in result.violations.slice(0, TOP_VIOLATIONS).to_pylist():
                table.add_row(escape(v["constraint"]), f"{v['cases']:,}", _pct(v["share"]), f"{v['occurrences']:,}")
            out.print(table)
        times = Table(title=f"Fitness by {period} of case start", title_justify="left")
        for col in (period, "cases", "fitness"):
            times.add_column(col, justify="left" if col == period else "right")
        for row in result.over_time.to_pylist():
            times.add_row(row["period"].isoformat(), f"{row['cases']:,}", _pct(row["fitness"]))
        out.print(times)

    _emit(as_json, result.to_dict(), render)


def _signed(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return ("-" if seconds < 0 else "+") + _seconds(abs(seconds))
