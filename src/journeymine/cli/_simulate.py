"""``journeymine simulate`` and ``journeymine demo``: the simulated company, its truth and an overview."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError

from ._app import JsonOpt, _edge, _emit, app, err, out

__all__ = ["demo", "simulate"]


@contextlib.contextmanager
def _chunks(as_json: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar over the simulated chunks on stderr (only on a terminal)."""
    if as_json or not err.is_terminal:
        yield None
        return
    columns = [TextColumn("Simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("chunks", total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _truth_dir(store: Path, truth: Path | None) -> Path:
    return truth if truth is not None else store.with_name(store.stem + ".truth")


def _run(store: Path, customers: int, days: int, seed: int, effects: Path | None, truth: Path | None,
         overwrite: bool, as_json: bool) -> tuple[jm.Simulation, Path]:
    from journeymine.simulate import parse_effects

    parse_effects(effects)  # refuse a bad effects file before anything is replaced
    if store.exists():
        if not overwrite:
            raise ConfigError(f"The store {str(store)!r} exists; simulate writes a new store (use --overwrite)",
                              field="store")
        store.unlink()
        Path(str(store) + ".wal").unlink(missing_ok=True)
    with _chunks(as_json) as progress:
        sim = jm.simulate(customers=customers, days=days, seed=seed, effects=effects, store=store, progress=progress)
    where = sim.truth.write(_truth_dir(store, truth))
    return sim, where


def _summary(sim: jm.Simulation, store: Path, where: Path) -> dict[str, object]:
    return {"store": str(store), "truth": str(where), "seconds": round(sim.seconds, 2),
            "events": sim.report.events_imported, "objects": sim.report.objects_imported + sim.people_report.objects_imported,
            "links": sim.report.links_imported, "stitched": sim.stitched,
            "effects": [{k: e[k] for k in ("effect", "kpi", "treated", "true_effect")} for e in sim.truth.effects()]}


Customers = Annotated[int, typer.Option(help="How many people (customers and anonymous prospects).")]
Days = Annotated[int, typer.Option(help="How many days to simulate.")]
Seed = Annotated[int, typer.Option(help="Random seed: the same seed and options give the same store.")]
EffectsOpt = Annotated[Path | None, typer.Option(help="TOML file changing the planted effects (docs/simulate.md).")]
TruthOpt = Annotated[Path | None, typer.Option(help="Folder for the ground truth (default: STORE's name + .truth).")]


@app.command()
def simulate(
    store: Annotated[Path, typer.Option("--store", "-s", help="The new store file (DuckDB).")],
    customers: Customers = 10_000, days: Days = 90, seed: Seed = 1, effects: EffectsOpt = None,
    truth: TruthOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing store file.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Simulate a retailer with planted effects into a new store and write the ground truth beside it."""
    with _edge(as_json):
        sim, where = _run(store, customers, days, seed, effects, truth, overwrite, as_json)
        summary = _summary(sim, store, where)
        sim.store.close()

    def render() -> None:
        out.print(f"Simulated {customers:,} people over {days} days (seed {seed}) into {store} in {sim.seconds:.1f}s: "
                  f"{summary['events']:,} events, {summary['links']:,} links, {sim.stitched:,} visitors stitched. "
                  f"Ground truth in {where}/", highlight=False)

    _emit(as_json, {"simulation": summary}, render)


def _change(sim: jm.Simulation) -> dt.datetime | None:
    """The day the simulated process changed (faster picking), if it lies inside the simulated days."""
    p = sim.truth.parameters
    fx = p["effects"].get("faster_picking", {})
    if not fx.get("enabled") or not 0 < fx["day"] < p["days"]:
        return None
    return dt.datetime.fromisoformat(p["start"]) + dt.timedelta(days=fx["day"])


def _sale(sim: jm.Simulation) -> list[tuple[dt.datetime, dt.datetime]]:
    """The simulated sale week (twice the traffic, a picking backlog): left out of the P2J estimates, where
    an interrupted time series would read it as part of the trend."""
    start, (lo, hi) = dt.datetime.fromisoformat(sim.truth.parameters["start"]), jm.World().sale_days
    return [(start + dt.timedelta(days=lo), start + dt.timedelta(days=hi))]


@app.command()
def demo(
    store: Annotated[Path, typer.Option("--store", "-s", help="The demo store file (replaced).")] = Path("demo.duckdb"),
    customers: Customers = 20_000, days: Days = 90, seed: Seed = 1,
    report: Annotated[Path | None, typer.Option(help="The HTML report to write (default: STORE's name + .html).")
                      ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Simulate the default company into demo.duckdb, print an overview and the top findings, and write
    the HTML report beside it."""
    with _edge(as_json):
        sim, where = _run(store, customers, days, seed, None, None, True, as_json)
        overview = jm.overview(sim.store)
        summary = _summary(sim, store, where)
        change = _change(sim)
        built = jm.build_report(sim.store, change=change, exclude=_sale(sim),
                                title=f"{sim.truth.parameters['company']}: demo")
        path = built.write(report if report is not None else store.with_suffix(".html"))
        findings = _findings(built)
        sim.store.close()

    def render() -> None:
        o = overview
        out.print(f"[bold]{store}[/bold]: a simulated retailer, {customers:,} people over {days} days "
                  f"(seed {seed}, {sim.seconds:.1f}s; ground truth in {where}/)", highlight=False)
        table = Table(title="overview", title_justify="left", show_header=False)
        table.add_column("what")
        table.add_column("value", justify="right")
        rows = [("customers (known)", f"{o.customers:,}"), ("anonymous visitors stitched", f"{sim.stitched:,}"),
                ("sessions", f"{o.sessions:,}"), ("orders", f"{o.orders:,}"), ("events", f"{o.events:,}"),
                ("session conversion", f"{o.session_conversion:.2%}" if o.session_conversion is not None else "-"),
                ("contacts per 100 orders", f"{o.contact_rate:.1f}" if o.contact_rate is not None else "-"),
                ("NPS (delivery)", f"{o.nps:+.0f} ({o.nps_answers:,} answers)" if o.nps is not None else "-"),
                ("CSAT (service, 1-5)", f"{o.csat:.2f} ({o.csat_answers:,} answers)" if o.csat is not None else "-")]
        for row in rows:
            table.add_row(*row)
        out.print(table)
        channels = Table(title="events by channel", title_justify="left")
        channels.add_column("channel")
        channels.add_column("events", justify="right")
        for name, n in o.events_by_channel.items():
            channels.add_row(name, f"{n:,}")
        out.print(channels)
        out.print("[bold]Top findings[/bold]")
        for line in findings:
            out.print("• " + line, highlight=False)
        out.print(f"Report: {path}", highlight=False)

    _emit(as_json, {"simulation": summary, "overview": overview.to_dict(), "findings": findings,
                    "report": str(path)}, render)


def _findings(built: jm.Report) -> list[str]:
    """The top findings in words: the first journey pains of the priorities and the process change's
    effect on contacts (from the report's own results)."""
    lines = [r["evidence"] for r in built.result("priorities").items.to_pylist() if r["kind"] == "pain"][:3]
    p2j = built.result("p2j")
    if p2j is not None:
        at, impacts = p2j
        for name, m in impacts.items():
            if isinstance(m, jm.Impact) and m.high < 0 or isinstance(m, jm.Impact) and m.low > 0:
                lines.append(f"Since the process change on {at:%Y-%m-%d}, {name} changed by {m.estimate:+.3g} per "
                             f"{m.object_type} (95 % {m.low:+.3g} to {m.high:+.3g}; {m.method}).")
    return lines
