"""Commands of the ``journeymine`` CLI. Each has ``--json`` for machine-readable output.

Errors from the library are translated here, at the edge: a one-line message on stderr and exit code 1
(2 for usage errors); with ``--json`` the error is ``{"ok": false, "error", "code", "status"}`` on stdout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError, JourneymineError
from journeymine.results import jsonable

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Customer journeys and processes on one event store.")
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

StoreOpt = Annotated[Path, typer.Option("--store", "-s", help="The store file (DuckDB).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

EXPORT_FORMATS = ("ocel-json", "ocel-sqlite", "xes", "parquet")


def _emit(as_json: bool, payload: dict[str, Any], render: Callable[[], None]) -> None:
    if as_json:
        out.print_json(json.dumps(jsonable({"ok": True, **payload}), default=str))
    else:
        render()


@contextlib.contextmanager
def _edge(as_json: bool) -> Iterator[None]:
    """Translate library errors into the CLI's one-line message / JSON error and exit code 1."""
    try:
        yield
    except JourneymineError as exc:
        if as_json:
            print(json.dumps(exc.to_dict()))
        else:
            err.print(f"[red]error[/red] ({exc.code}): {exc.message}", highlight=False, markup=True)
        raise typer.Exit(1) from None


@contextlib.contextmanager
def _progress(label: str, as_json: bool) -> Iterator[None]:
    """A spinner with elapsed time on stderr while long work runs (only on a terminal)."""
    if as_json or not err.is_terminal:
        yield
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        progress.add_task(label, total=None)
        yield


def _seconds(value: float | None) -> str:
    """A duration for people: 42s, 3.5m, 2.0h, 1.5d."""
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.1f}m"
    if value < 172800:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.1f}d"


def _pct(value: float | None) -> str:
    """A share as a percentage with one decimal; '-' for none."""
    return "-" if value is None else f"{100 * value:.1f}%"


def _parse_objects(values: list[str]) -> dict[str, str]:
    objects = {}
    for v in values:
        if "=" not in v:
            raise ConfigError(f"--object takes TYPE=COLUMN (e.g. order=order_id); got {v!r}")
        t, c = v.split("=", 1)
        objects[t.strip()] = c.strip()
    return objects


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="File to import (.xes[.gz], OCEL 2.0 .xml/.json/.sqlite, .csv, .parquet).")],
    store: StoreOpt,
    format: Annotated[str | None, typer.Option(help="xes, ocel, csv or parquet (default: from the file name).")] = None,
    activity_col: Annotated[str | None, typer.Option(help="csv/parquet: the activity column.")] = None,
    timestamp_col: Annotated[str | None, typer.Option(help="csv/parquet: the timestamp column.")] = None,
    customer_col: Annotated[str | None, typer.Option(help="csv/parquet: column of customer ids.")] = None,
    case_col: Annotated[str | None, typer.Option(help="csv/parquet: column of case ids.")] = None,
    case_type: Annotated[str, typer.Option(help="Object type of case ids (csv/parquet case_col; xes traces).")] = "case",
    object: Annotated[list[str] | None, typer.Option("--object", help="csv/parquet: TYPE=COLUMN, repeatable.")] = None,
    id_col: Annotated[str | None, typer.Option(help="csv/parquet: the event id column.")] = None,
    delimiter: Annotated[str, typer.Option(help="csv: field delimiter.")] = ",",
    encoding: Annotated[str, typer.Option(help="csv: text encoding, e.g. latin-1.")] = "utf-8",
    timestamp_format: Annotated[str | None, typer.Option(help="csv/parquet: strptime format (default ISO 8601).")] = None,
    timezone: Annotated[str, typer.Option(help="csv/parquet/ocel: IANA zone of timestamps written without offset.")] = "UTC",
    as_json: JsonOpt = False,
) -> None:
    """Import a file into the store and print the import report."""
    with _edge(as_json):
        fmt = format or jm.guess_format(path)
        options: dict[str, Any] = {}
        if fmt in ("csv", "parquet"):
            if not activity_col or not timestamp_col:
                raise ConfigError(f"Importing {fmt} needs --activity-col and --timestamp-col")
            options = dict(activity_col=activity_col, timestamp_col=timestamp_col, customer_col=customer_col,
                           case_col=case_col, case_type=case_type, objects=_parse_objects(object or []),
                           id_col=id_col, timestamp_format=timestamp_format, timezone=timezone)
            if fmt == "csv":
                options.update(delimiter=delimiter, encoding=encoding)
        elif fmt == "xes":
            options = dict(object_type=case_type)
        elif fmt == "ocel":
            options = dict(timezone=timezone)
        with jm.connect(store) as s, _progress(f"Importing {path.name}", as_json):
            report = jm.read(path, s, format=fmt, **options)

    def render() -> None:
        out.print(
            f"Imported {path.name} into {store} as run {report.run_id} in {report.seconds:.2f}s: "
            f"{report.events_imported:,} events, {report.objects_imported:,} objects, "
            f"{report.links_imported:,} links; {report.refused:,} refused (see `journeymine quarantine`), "
            f"{report.duplicates_skipped:,} duplicates skipped.",
            highlight=False,
        )

    _emit(as_json, {"report": report.to_dict()}, render)


@app.command()
def info(store: StoreOpt, as_json: JsonOpt = False) -> None:
    """Counts of events, objects by type, event types and the time range."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            result = s.info()

    def render() -> None:
        d = result
        out.print(f"[bold]{store}[/bold] (schema v{d.schema_version})")
        out.print(
            f"{d.events:,} events, {d.objects:,} objects, {d.event_object_links:,} event-object and "
            f"{d.object_object_links:,} object-object links, {d.aliases:,} merged identities",
            highlight=False,
        )
        out.print(f"time range: {d.first_event} .. {d.last_event}", highlight=False)
        out.print(f"{d.import_runs} import runs, {d.quarantined:,} records in quarantine", highlight=False)
        for title, counts in (("objects by type", d.objects_by_type), ("events by type", d.events_by_type)):
            table = Table(title=title, title_justify="left")
            table.add_column("type")
            table.add_column("count", justify="right")
            for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
                table.add_row(k, f"{v:,}")
            out.print(table)

    _emit(as_json, {"info": result.to_dict()}, render)


@app.command()
def export(
    store: StoreOpt,
    format: Annotated[str, typer.Option(help=f"One of {', '.join(EXPORT_FORMATS)}.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="File (or folder for parquet) to write.")],
    object_type: Annotated[str, typer.Option(help="xes: the object type whose process view becomes traces.")] = "case",
    overwrite: Annotated[bool, typer.Option(help="parquet: replace a non-empty folder.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the store as OCEL 2.0 JSON or SQLite, XES, or the Parquet layout Spark reads."""
    with _edge(as_json):
        if format not in EXPORT_FORMATS:
            raise ConfigError(f"--format must be one of {list(EXPORT_FORMATS)}. Got {format!r} instead.")
        _require_store(store)
        with jm.connect(store, read_only=True) as s, _progress(f"Exporting {format}", as_json):
            if format == "xes":
                jm.write_xes(s, out_path, object_type=object_type)
            elif format == "parquet":
                jm.write_parquet(s, out_path, overwrite=overwrite)
            else:
                jm.write_ocel(s, out_path, format=format.removeprefix("ocel-"))
    _emit(as_json, {"format": format, "out": str(out_path)},
          lambda: out.print(f"Wrote {format} to {out_path}", highlight=False))


@app.command()
def quarantine(
    store: StoreOpt,
    run: Annotated[int | None, typer.Option(help="Only this import run.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Refused records with their reasons and positions in the source."""
    with _edge(as_json):
        _require_store(store)
        with jm.connect(store, read_only=True) as s:
            rows = s.quarantine(run).to_pylist()

    def render() -> None:
        if not rows:
            out.print("The quarantine is empty.")
            return
        table = Table(title=f"{len(rows):,} refused records")
        for col in ("run", "source", "position", "reason"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["run_id"]), Path(r["source"] or "").name, r["position"], r["reason"])
        out.print(table)

    _emit(as_json, {"refused": rows}, render)


def _require_store(path: Path) -> None:
    if not path.exists():
        raise jm.errors.StoreNotFoundError(f"No store at {str(path)!r}; create one with `journeymine import`")


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    app()
