"""``journeymine explain`` and ``impact``: journey pains traced to processes (J2P), process changes to KPIs (P2J)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError

from ._app import JsonOpt, StoreOpt, _edge, _emit, _require_store, app, out

__all__ = ["explain", "impact"]


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _outcome(steps: str | None, step: str | None, window: str, by: str, unit: str | None, start: str | None,
             event: str | None, within: str, negate: bool) -> jm.Outcome:
    if (steps is None) == (unit is None):
        raise ConfigError("Give either --steps and --step (dropped after a funnel step) or --unit, --start and "
                          "--event (followed by an event).", field="outcome")
    if steps is not None:
        if step is None:
            raise ConfigError("--steps needs --step: the step after which units drop (1-based or a name).",
                              field="step")
        return jm.dropped_after(_split(steps), int(step) if step.isdigit() else step, window=window, by=by)
    return jm.followed_by(unit, start or "", event or "", within, negate=negate)


@app.command()
def explain(
    store: StoreOpt,
    steps: Annotated[str | None, typer.Option(help="Outcome 'dropped after': the funnel's steps, a,b,c.")] = None,
    step: Annotated[str | None, typer.Option(help="The step (1-based or name) after which units drop.")] = None,
    window: Annotated[str, typer.Option(help="The funnel window.")] = "1h",
    by: Annotated[str, typer.Option(help="The funnel's unit (object:TYPE).")] = "object:session",
    unit: Annotated[str | None, typer.Option(help="Outcome 'followed by': the units' object type.")] = None,
    start: Annotated[str | None, typer.Option(help="The units' start event.")] = None,
    event: Annotated[str | None, typer.Option(help="The outcome event after the start.")] = None,
    within: Annotated[str, typer.Option(help="How long after the start the event counts.")] = "14d",
    negate: Annotated[bool, typer.Option(help="The outcome is that the event does NOT follow.")] = False,
    process: Annotated[str | None, typer.Option(help="Process object types to search, comma-separated "
                                                     "(default: all linked).")] = None,
    threshold: Annotated[list[str] | None, typer.Option(help="Waiting-time threshold ACTIVITY=2m (repeatable).")
                         ] = None,
    attribute: Annotated[list[str] | None, typer.Option(help="Event attribute of the process to test "
                                                             "(repeatable).")] = None,
    confounder: Annotated[list[str] | None, typer.Option(help="Adjust for ATTR or TYPE.ATTR (repeatable).")] = None,
    model: Annotated[list[Path] | None, typer.Option(help="Reference model (TOML/JSON) whose violations to test; "
                                                          "repeatable, one per process type.")] = None,
    top_variants: Annotated[int, typer.Option(help="Test the N most frequent variants so far (0: none).")] = 0,
    min_support: Annotated[int, typer.Option(help="Least units exposed and unexposed.")] = 30,
    alpha: Annotated[float, typer.Option(help="False-discovery rate.")] = 0.05,
    as_json: JsonOpt = False,
) -> None:
    """Which process steps go with a journey outcome, how much, and what fixing them is worth."""
    with _edge(as_json):
        _require_store(store)
        outcome = _outcome(steps, step, window, by, unit, start, event, within, negate)
        thresholds: dict[str, list[str]] = {}
        for item in threshold or []:
            name, sep, value = item.rpartition("=")
            if not sep or not name:
                raise ConfigError(f"A --threshold is ACTIVITY=DURATION. Got {item!r} instead.", field="threshold")
            thresholds.setdefault(name, []).append(value)
        models = [jm.read_model(path) for path in model or []]
        chosen = (None if not models else models[0] if len(models) == 1
                  else {m.object_type: m for m in models})
        with jm.connect(store, read_only=True) as s:
            result = jm.explain(s, outcome, process=_split(process) or None, thresholds=thresholds or None,
                                attributes=attribute or [], confounders=confounder or [], model=chosen,
                                top_variants=top_variants, min_support=min_support, alpha=alpha)

    def render() -> None:
        out.print(f"{result.units:,} {result.object_type}s, {result.outcomes:,} {result.outcome}; "
                  f"{result.tested} candidate causes tested", highlight=False)
        table = Table(title="Findings (significant first, by outcomes a fix would avoid)", title_justify="left")
        for col in ("process", "cause", "exposed", "difference", "95 % interval", "q", "avoidable"):
            table.add_column(col, justify="left" if col in ("process", "cause") else "right")
        for r in result.top(12):
            kind = r["kind"]
            cause = (r["detail"] if kind == "attribute" else f"{kind}: {r['detail']}" if kind in ("variant", "violation")
                     else f"{r['activity']} {kind} {r['detail']}".strip())
            table.add_row(r["process"], cause, f"{r['exposed']:,}", f"{100 * r['risk_difference']:+.1f} pp",
                          f"{100 * r['rd_low']:+.1f} .. {100 * r['rd_high']:+.1f}", f"{r['q_value']:.2g}",
                          f"{r['attributable']:,.0f}" if r["significant"] else "-")
        out.print(table)
        for sentence in result.sentences()[:3]:
            out.print("• " + sentence, highlight=False)

    _emit(as_json, result.to_dict(), render)


@app.command()
def impact(
    store: StoreOpt,
    at: Annotated[str, typer.Option(help="When the process changed (ISO date or time, UTC).")],
    unit: Annotated[str, typer.Option(help="The units' object type, e.g. order.")],
    start: Annotated[str, typer.Option(help="The units' start event.")],
    event: Annotated[str | None, typer.Option(help="KPI as a rate: this event follows within --within.")] = None,
    end: Annotated[str | None, typer.Option(help="KPI as hours from --start to this event.")] = None,
    within: Annotated[str, typer.Option(help="How long after the start the event counts.")] = "14d",
    negate: Annotated[bool, typer.Option(help="The KPI is that the event does NOT follow.")] = False,
    trend: Annotated[bool, typer.Option(help="Level change net of linear trends, or with --compare period fixed "
                                             "effects (else after - before).")] = True,
    compare: Annotated[str | None, typer.Option(help="Difference-in-differences: ATTR=V1,V2 (or TYPE.ATTR=...) marks "
                                                     "the treated units; units with another value compare.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What a process change did to a journey KPI: the change at --at with a bootstrap interval."""
    with _edge(as_json):
        _require_store(store)
        if (event is None) == (end is None):
            raise ConfigError("Give either --event (a rate) or --end (a duration).", field="kpi")
        kpi = (jm.followed_by(unit, start, event, within, negate=negate) if event is not None
               else jm.duration_between(unit, start, end or ""))
        groups = None
        if compare is not None:
            name, sep, values = compare.partition("=")
            if not sep or not name.strip() or not _split(values):
                raise ConfigError(f"--compare is ATTR=VALUE,VALUE (the treated units' values). "
                                  f"Got {compare!r} instead.", field="compare")
            groups = {name.strip(): _split(values)}
        with jm.connect(store, read_only=True) as s:
            result = jm.impact(s, kpi, at, trend=trend, compare=groups)

    def render() -> None:
        out.print(f"{result.kpi} ({result.object_type}s): {result.before_mean:.4g} before "
                  f"({result.before_units:,}), {result.after_mean:.4g} after ({result.after_units:,})"
                  + (" (treated)" if result.compare else ""), highlight=False)
        if result.compare:
            out.print(f"comparison: {result.comparison_before_mean:.4g} before ({result.comparison_before_units:,}), "
                      f"{result.comparison_after_mean:.4g} after ({result.comparison_after_units:,})", highlight=False)
        out.print(f"change at {result.at:%Y-%m-%d %H:%M}: {result.estimate:+.4g} (95 % {result.low:+.4g} .. "
                  f"{result.high:+.4g}), {result.method}", highlight=False)

    _emit(as_json, result.to_dict(), render)
