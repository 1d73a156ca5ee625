"""``journeymine drivers``: what makes a funnel's success more or less likely (docs/drivers.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm
from journeymine.journeys._drivers import FEATURES

from ._app import JsonOpt, StoreOpt, _edge, _emit, _progress, _require_store, app, out

__all__ = ["drivers"]


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _number(value: float) -> str:
    return "-" if value != value else f"{value:.3g}"  # NaN -> "-"


@app.command()
def drivers(
    store: StoreOpt,
    steps: Annotated[str, typer.Option(help="The funnel's event types, comma-separated: a,b,c.")],
    window: Annotated[str, typer.Option(help="Time from entry to reach the last step, e.g. 30m, 7d.")] = "7d",
    by: Annotated[str, typer.Option(help="Who is counted: customer, session (derived) or an object type "
                                         "(object:TYPE).")] = "customer",
    features: Annotated[str, typer.Option(help=f"Kinds to test, comma-separated, of {', '.join(FEATURES)}.")
                        ] = ",".join(FEATURES),
    min_actors: Annotated[int, typer.Option(help="Test a feature only when at least this many actors have it and "
                                                 "as many do not.")] = 30,
    alpha: Annotated[float, typer.Option(help="False-discovery rate: significant when q <= alpha.")] = 0.05,
    threshold: Annotated[list[str] | None, typer.Option(
        "--threshold", help="Duration threshold for steps 2 .. n-1, e.g. 2m (repeatable; default: median and "
                            "90th percentile).")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show (all with --json).")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Which events, properties, attributes and delays between entry and outcome go with converting."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s, _progress("Testing drivers", as_json):
            result = jm.drivers(s, _split(steps), window, by=by, features=_split(features),
                                     min_actors=min_actors, alpha=alpha, duration_thresholds=threshold or None)

    def render() -> None:
        r = result
        out.print(f"[bold]{' -> '.join(r.steps)}[/bold] within {window} by {r.by}: {r.successes:,} of "
                  f"{r.actors_total:,} entrants converted. {r.features_tested} of {r.features_considered} features "
                  f"tested ({r.features_below_support} below {r.min_actors} actors, {r.features_without_contrast} "
                  f"without contrast), {len(r.significant())} significant at q <= {r.alpha:g}.", highlight=False)
        if not r.drivers:
            return
        table = Table(title=f"drivers (first {min(limit, r.features_tested)}; * significant)", title_justify="left")
        for col in ("feature", "actors with/without", "conversion with/without", "odds ratio", "difference [95 %]",
                    "q"):
            table.add_column(col, justify="left" if col == "feature" else "right")
        for d in r.drivers[:limit]:
            table.add_row(
                f"{d.feature} ({d.kind})", f"{d.actors_with:,} / {d.actors_without:,}",
                f"{d.conversion_with:.1%} / {d.conversion_without:.1%}", _number(d.odds_ratio),
                f"{d.risk_difference:+.1%} [{d.risk_difference_low:+.1%}, {d.risk_difference_high:+.1%}]",
                f"{d.q_value:.2g}{'*' if d.significant else ''}")
        out.print(table)

    _emit(as_json, result.to_dict(), render)
