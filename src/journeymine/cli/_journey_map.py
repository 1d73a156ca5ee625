"""``journeymine journey-map``: the journey map of a store, stage by stage, with the process steps behind it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError

from ._app import (
    JsonOpt,
    StoreOpt,
    _edge,
    _emit,
    _pct,
    _require_store,
    _seconds,
    app,
    out,
)

__all__ = ["journey_map_command"]


def _stages(path: Path | None) -> dict | None:
    """The stage mapping of a TOML file: ``stage = ["event type", ...]`` (or ``stage = {repeat = [...]}``)
    per line, in journey order."""
    if path is None:
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"The --stages file must exist. Got {str(path)!r} instead.", field="stages") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The --stages file must be TOML (stage = [event types]). Got {str(path)!r}: {exc}",
                          field="stages") from None


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _render(result: jm.JourneyMap) -> None:
    out.print(f"Journey map of {result.actors:,} {result.actor}s over {len(result.stage_names)} stages"
              + (f", lanes by {result.lane_by}" if result.lane_by else ""), highlight=False)
    lanes = ["lane"] if result.lane_by else []
    table = Table(title="Stages", title_justify="left")
    for col in (*lanes, "stage", "actors", "share", "drop-off", "from previous", "contacts/100"):
        table.add_column(col, justify="left" if col in ("lane", "stage") else "right")
    feeling = Table(title="Emotion (-2..+2, from NPS and CSAT answers)", title_justify="left")
    for col in (*lanes, "stage", "answers", "emotion", "95 % interval"):
        feeling.add_column(col, justify="left" if col in ("lane", "stage") else "right")
    for r in result.stages.to_pylist():
        lane = [r["lane"]] if lanes else []
        table.add_row(*lane, r["stage"], f"{r['actors']:,}", _pct(r["share"]), _pct(r["drop_off"]),
                      _seconds(r["median_seconds_from_previous"]), _number(r["contacts_per_100"], ".1f"))
        if r["answers"]:
            interval = "-" if r["emotion_low"] is None else f"{r['emotion_low']:+.2f} .. {r['emotion_high']:+.2f}"
            feeling.add_row(*lane, r["stage"], f"{r['answers']:,}", f"{r['emotion']:+.2f}", interval)
    out.print(table)
    out.print(feeling)
    steps = Table(title="Process steps behind the stages (lane all, top 3 per stage)", title_justify="left")
    for col in ("stage", "process", "activity", "events", "median wait", "p90 wait"):
        steps.add_column(col, justify="left" if col in ("stage", "process", "activity") else "right")
    shown: dict[str, int] = {}
    for r in result.process_steps.to_pylist():
        if r["lane"] != "all" or shown.get(r["stage"], 0) >= 3:
            continue
        shown[r["stage"]] = shown.get(r["stage"], 0) + 1
        steps.add_row(r["stage"], r["process"], r["activity"], f"{r['events']:,}", _seconds(r["median_wait_seconds"]),
                      _seconds(r["p90_wait_seconds"]))
    out.print(steps)


@app.command("journey-map")
def journey_map_command(
    store: StoreOpt,
    actor: Annotated[str, typer.Option(help="The actors' object type.")] = "customer",
    lanes: Annotated[str | None, typer.Option(help="Swim lanes by this attribute of the actor objects.")] = None,
    stages: Annotated[Path | None, typer.Option(help="TOML file: stage = [event types], in journey order "
                                                     "(default: the retail stages).")] = None,
    process: Annotated[str | None, typer.Option(help="Process object types, comma-separated "
                                                     "(default: all linked to one actor).")] = None,
    start: Annotated[str | None, typer.Option(help="Only events at or after this time (ISO, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Only events before this time (ISO, UTC).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The journey map: reach, drop-off, emotion and contacts per stage, and the process steps behind it."""
    with _edge(as_json):
        _require_store(store)
        mapping = _stages(stages)
        processes = [p.strip() for p in process.split(",") if p.strip()] if process else None
        with jm.connect(store, read_only=True) as s:
            result = jm.journey_map(s, mapping, actor=actor, lanes=lanes, processes=processes, start=start, end=end)
    _emit(as_json, result.to_dict(), lambda: _render(result))
