"""``journeymine report``: the offline HTML report of a store, with progress while its sections compute."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError

from ._app import JsonOpt, StoreOpt, _edge, _emit, _require_store, app, err, out

__all__ = ["report"]


@contextlib.contextmanager
def _sections(as_json: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A progress bar over the report's sections on stderr (only on a terminal)."""
    if as_json or not err.is_terminal:
        yield None
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("Report", total=None)
        yield lambda name, done, total: progress.update(task, description=f"Report: {name}", completed=done,
                                                        total=total)


@app.command()
def report(
    store: StoreOpt,
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    change: Annotated[str | None, typer.Option(help="When a process changed (ISO date or time, UTC): adds the "
                                                    "process-to-journey section.")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="A period P2J leaves out, START..END (repeatable), e.g. "
                                                           "a sale week.")] = None,
    title: Annotated[str | None, typer.Option(help="The report's title.")] = None,
    top: Annotated[int, typer.Option(help="Rows per table (findings, variants, activities).")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Write a self-contained HTML report: KPIs, priorities, funnel, journey map, J2P, P2J, process map,
    variants, bottlenecks."""
    with _edge(as_json):
        _require_store(store)
        periods = []
        for item in exclude or []:
            lo, sep, hi = item.partition("..")
            if not sep:
                raise ConfigError(f"An --exclude is START..END. Got {item!r} instead.", field="exclude")
            periods.append((lo.strip(), hi.strip()))
        with jm.connect(store, read_only=True) as s, _sections(as_json) as progress:
            result = jm.build_report(s, title=title, change=change, exclude=periods, top=top, progress=progress)
        result.write(out_path)

    def render() -> None:
        out.print(f"Wrote {out_path} ({len(result.html) / 1024:,.0f} KiB, {len(result.sections)} sections)",
                  highlight=False)
        table = Table(title=result.title, title_justify="left")
        for col in ("section", "rows", "note"):
            table.add_column(col, justify="right" if col == "rows" else "left")
        for sec in result.sections:
            table.add_row(sec.id, f"{sec.rows:,}", sec.error or "")
        out.print(table)

    _emit(as_json, {"path": str(out_path), "sections": result.to_dict()["sections"]}, render)
