"""``build_report``: the offline HTML report of a store, section by section, from analysis results.

What each section computes (the store's own names where it has them; otherwise the retail vocabulary of
``journeymine.combined._defaults``, the simulator's event names), in the order of ``PARTS``:

1. ``kpis``: ``jm.kpis`` over the whole store and per ISO week, and ``jm.overview``;
2. ``priorities``: ``jm.priorities`` of the outcomes (below), with ``bootstrap`` and ``seed``;
3. ``funnel``: ``jm.funnel`` of the shop funnel ``SHOP_STEPS`` (product viewed, added to cart, checkout
   address, checkout delivery and the ``CHECKOUT`` steps), only the steps whose event types exist, per
   stored session (``object:session``; per customer when the store has no sessions), window 1 day;
4. ``journey-map``: ``jm.journey_map`` with its default retail stages (``jm.RETAIL_STAGES``);
5. ``j2p``: ``jm.explain`` of every outcome (``outcomes``, default ``retail_outcomes(store)``) in its process
   (the priorities' explanations where they were made, the same calls);
6. ``p2j``: with ``change``, ``jm.impact`` at that time (leaving out the ``exclude`` periods) of contacts
   within 14 days of an order, hours from order placed to delivered, and repeat purchase (an order within
   30 days of a customer's first), with ``bootstrap`` resamples and ``seed``; without ``change`` the
   section says that no date was given;
7. ``process-map``: ``jm.discover_dfg`` (the 25 most frequent activities) and ``jm.draw_dfg`` of the
   process object type: ``order`` when the store has orders, else its most numerous object type that is
   not a customer, visitor or session;
8. ``variants``: ``jm.variants`` (the ``top`` most frequent) of the same object type;
9. ``bottlenecks``: ``jm.bottlenecks`` of the same object type.

A section whose analysis raises a journeymine error (a store without the event types it needs) shows the
error's one-line message instead, with a logged warning, and the report still builds. Within J2P and P2J
each outcome or KPI fails alone. The parameters of ``build_report`` itself are checked first and raise
``ConfigError``. The page is self-contained (``_page``): no script, no external URL; this differs on
purpose from ydata-profiling's and Evidently's HTML reports, which embed JavaScript (by default from a CDN).

Adding a section: a render function ``(result, *, top) -> Section`` in ``_sections``, a compute function
``(Context) -> result`` here, and a ``Part`` in ``PARTS`` at the place the section should appear.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..combined import (
    Impact,
    Metric,
    Outcome,
    Priorities,
    duration_between,
    explain,
    followed_by,
    impact,
    journey_map,
    priorities,
)
from ..combined._defaults import CHECKOUT, CONTACT, ORDER, ORDER_PLACED, retail_outcomes
from ..errors import ConfigError, JourneymineError
from ..journeys import funnel, kpis, overview
from ..processes import bottlenecks, discover_dfg, draw_dfg, variants
from ..store import Store, StoreInfo
from ..timespan import parse_instant
from ._page import Section, page, section
from ._sections import (
    bottlenecks_section,
    funnel_section,
    j2p_section,
    journey_map_section,
    kpis_section,
    p2j_section,
    priorities_section,
    process_map_section,
    variants_section,
)

__all__ = ["PARTS", "SHOP_STEPS", "Context", "Part", "Report", "build_report"]

logger = logging.getLogger(__name__)

SHOP_STEPS = ("product viewed", "added to cart", "checkout address", "checkout delivery", *CHECKOUT)
NOT_PROCESSES = ("customer", "visitor", "session")


@dataclasses.dataclass(frozen=True)
class Context:
    """What the compute functions share: the store, its info, the checked parameters, and the results
    of the sections computed so far (``done``, by section id), so a later section can reuse them."""

    store: Store
    info: StoreInfo
    outcomes: dict[str, tuple[Outcome, str | None]]
    change: dt.datetime | None
    exclude: tuple[tuple[object, object], ...]
    top: int
    bootstrap: int
    seed: int
    done: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def process(self) -> str:
        """The process object type of the process sections."""
        counts = self.info.objects_by_type
        if ORDER in counts:
            return ORDER
        others = sorted((-n, t) for t, n in counts.items() if t not in NOT_PROCESSES)
        if not others:
            raise ConfigError("The store has no process objects (only customers, visitors or sessions).",
                              field="process")
        return others[0][1]


@dataclasses.dataclass(frozen=True)
class Part:
    """One section of the report: its id and title, how to compute its result, how to render it."""

    id: str
    title: str
    compute: Callable[[Context], object]
    render: Callable[..., Section]


def _kpis(ctx: Context) -> object:
    return kpis(ctx.store), kpis(ctx.store, interval="week"), overview(ctx.store)


def _funnel(ctx: Context) -> object:
    steps = [s for s in SHOP_STEPS if s in ctx.info.events_by_type]
    if len(steps) < 2:
        raise ConfigError(f"The store holds fewer than two of the shop funnel's event types {list(SHOP_STEPS)}.",
                          field="steps")
    by = "object:session" if "session" in ctx.info.objects_by_type else "customer"
    return funnel(ctx.store, steps, "1d", by=by)


def _priorities(ctx: Context) -> object:
    if not ctx.outcomes:
        raise ConfigError("No journey outcome to rank pains by: the store has none of the default outcomes' event "
                          "types and the outcomes parameter gave none.", field="outcomes")
    return priorities(ctx.store, outcomes=ctx.outcomes, bootstrap=ctx.bootstrap, seed=ctx.seed)


def _journey_map(ctx: Context) -> object:
    return journey_map(ctx.store)


def _guarded(name: str, work: Callable[[], object]) -> object:
    try:
        return work()
    except JourneymineError as exc:
        logger.warning("report: %s failed: %s", name, exc.message)
        return exc.message


def _j2p(ctx: Context) -> object:
    if not ctx.outcomes:
        raise ConfigError("No journey outcome to explain: the store has none of the default outcomes' event types "
                          "and the outcomes parameter gave none.", field="outcomes")
    ranked = ctx.done.get("priorities")  # its explanations are these calls, made already
    known = ranked.explanations if isinstance(ranked, Priorities) else {}
    return {name: known[name] if name in known
            else _guarded(name, lambda o=o, p=p: explain(ctx.store, o, process=p))
            for name, (o, p) in ctx.outcomes.items()}


def _p2j_kpis(ctx: Context) -> dict[str, Outcome | Metric | str]:
    events, objects = ctx.info.events_by_type, ctx.info.objects_by_type

    def need(kpi: Callable[[], Outcome | Metric], types: tuple[str, ...], object_type: str) -> Outcome | Metric | str:
        missing = [t for t in types if t not in events]
        if missing or object_type not in objects:
            what = f"{missing[0]!r} events" if missing else f"{object_type!r} objects"
            logger.warning("report: P2J KPI skipped: the store has no %s", what)
            return f"The store has no {what}."
        return kpi()

    return {
        "contacts after order": need(lambda: followed_by(ORDER, ORDER_PLACED, CONTACT, "14d"),
                                     (ORDER_PLACED, CONTACT), ORDER),
        "hours order placed to delivered": need(lambda: duration_between(ORDER, ORDER_PLACED, "delivered"),
                                                (ORDER_PLACED, "delivered"), ORDER),
        "repeat purchase within 30 days": need(lambda: followed_by("customer", ORDER_PLACED, ORDER_PLACED, "30d"),
                                               (ORDER_PLACED,), "customer"),
    }


def _p2j(ctx: Context) -> object:
    if ctx.change is None:
        return None
    found: dict[str, Impact | str] = {}
    for name, kpi in _p2j_kpis(ctx).items():
        found[name] = kpi if isinstance(kpi, str) else _guarded(
            name, lambda k=kpi: impact(ctx.store, k, ctx.change, exclude=ctx.exclude, bootstrap=ctx.bootstrap,
                                       seed=ctx.seed))
    return ctx.change, found


def _process_map(ctx: Context) -> object:
    dfg = discover_dfg(ctx.store, ctx.process, keep_activities=25)
    return dfg, draw_dfg(dfg)


def _variants(ctx: Context) -> object:
    return variants(ctx.store, ctx.process, top=ctx.top)


def _bottlenecks(ctx: Context) -> object:
    return bottlenecks(ctx.store, ctx.process)


PARTS: tuple[Part, ...] = (
    Part("kpis", "KPIs", _kpis, kpis_section),
    Part("priorities", "Priorities", _priorities, priorities_section),
    Part("funnel", "Shop funnel", _funnel, funnel_section),
    Part("journey-map", "Journey map", _journey_map, journey_map_section),
    Part("j2p", "Journey to process", _j2p, j2p_section),
    Part("p2j", "Process to journey", _p2j, p2j_section),
    Part("process-map", "Process map", _process_map, process_map_section),
    Part("variants", "Variants", _variants, variants_section),
    Part("bottlenecks", "Bottlenecks", _bottlenecks, bottlenecks_section),
)


@dataclasses.dataclass(frozen=True, eq=False)
class Report:
    """A built report: its ``title``, ``sections`` (in page order), the whole ``html`` document and the
    ``results`` each section was drawn from (by section id; a failed section has none)."""

    title: str
    sections: tuple[Section, ...]
    html: str = dataclasses.field(repr=False)
    results: dict[str, object] = dataclasses.field(repr=False, default_factory=dict)

    def result(self, id: str) -> object:
        """The result the section ``id`` was drawn from (``None`` when it failed or has none)."""
        if id not in {s.id for s in self.sections}:
            raise ConfigError(f"The id parameter must be a section of the report, one of "
                              f"{[s.id for s in self.sections]}. Got {id!r} instead.", field="id")
        return self.results.get(id)

    def write(self, path: str | Path) -> Path:
        """Write the HTML to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.write_text(self.html, encoding="utf-8")
        return path

    def to_dict(self) -> dict[str, object]:
        return {"title": self.title, "sections": [{"id": s.id, "title": s.title, "rows": s.rows, "error": s.error}
                                                  for s in self.sections]}


def _outcomes(store: Store, outcomes: object) -> dict[str, tuple[Outcome, str | None]]:
    if outcomes is None:
        return dict(retail_outcomes(store))
    bad = ConfigError("The outcomes parameter must map names to a jm.followed_by/jm.dropped_after outcome or to "
                      f"(outcome, process object type). Got {outcomes!r} instead.", field="outcomes")
    if not isinstance(outcomes, Mapping):
        raise bad
    found = {}
    for name, value in outcomes.items():
        o, p = value, None
        if isinstance(value, (tuple, list)) and len(value) == 2:
            o, p = value
        if not isinstance(o, Outcome) or not (p is None or isinstance(p, str)):
            raise bad
        found[str(name)] = (o, p)
    return found


def _periods(value: object) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    bad = ConfigError(f"The exclude parameter must list (start, end) periods. Got {value!r} instead.", field="exclude")
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise bad
    found = []
    for item in value:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            raise bad
        lo, hi = parse_instant(item[0], "exclude"), parse_instant(item[1], "exclude")
        if lo is None or hi is None or not lo < hi:
            raise bad
        found.append((lo, hi))
    return tuple(found)


def _count(value: object, field: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"The {field} parameter must be an integer of at least {least}. Got {value!r} instead.",
                          field=field)
    return value


def build_report(store: Store, *, title: str | None = None, outcomes: Mapping | None = None, change: object = None,
                 exclude: Sequence[tuple[object, object]] = (), top: int = 10, bootstrap: int = 200, seed: int = 0,
                 progress: Callable[[str, int, int], None] | None = None) -> Report:
    """The offline HTML report of ``store`` (sections and semantics in the module docs).

    ``outcomes`` maps names to J2P outcomes (or ``(outcome, process object type)``), default
    ``retail_outcomes(store)``; ``change`` is the time of a process change for P2J (ISO text, date or
    datetime; ``None`` skips P2J with a note) and ``exclude`` the ``(start, end)`` periods P2J leaves out
    (e.g. a sale week that would pass for a trend); ``top`` rows per table; ``bootstrap`` and ``seed`` go to
    ``jm.impact``. ``progress(title, done, total)`` is called before each section and once at the end.
    """
    if title is not None and not isinstance(title, str):
        raise ConfigError(f"The title parameter must be text or None. Got {title!r} instead.", field="title")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"The seed parameter must be an integer. Got {seed!r} instead.", field="seed")
    ctx = Context(store=store, info=store.info(), outcomes=_outcomes(store, outcomes),
                  change=parse_instant(change, "change"), exclude=_periods(exclude), top=_count(top, "top", 1),
                  bootstrap=_count(bootstrap, "bootstrap", 100), seed=seed)
    sections, results = [], ctx.done
    for i, part in enumerate(PARTS):
        if progress is not None:
            progress(part.title, i, len(PARTS))
        began = time.perf_counter()
        try:
            result = part.compute(ctx)
        except JourneymineError as exc:
            logger.warning("report: section %s failed: %s", part.id, exc.message)
            sections.append(section(part.id, part.title, "", 0, error=exc.message))
            continue
        results[part.id] = result
        sections.append(part.render(result, top=ctx.top))
        logger.debug("report: section %s in %.2f s", part.id, time.perf_counter() - began)
    if progress is not None:
        progress("done", len(PARTS), len(PARTS))
    info = ctx.info
    span = f" from {info.first_event:%Y-%m-%d} to {info.last_event:%Y-%m-%d}" if info.first_event else ""
    subtitle = f"{info.events:,} events and {info.objects:,} objects{span}"
    name = title or "Customer journey report"
    html = page(name, sections, subtitle=subtitle, footer="Made with journeymine. This file is self-contained: no "
                "scripts, no external resources; every number comes from the analysis named in its section.")
    return Report(title=name, sections=tuple(sections), html=html, results=results)
