"""``jm.simulate``: run the company chunk by chunk into a store, stitch identities, keep the truth."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import itertools
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..store import Batch, ImportReport, Store, connect
from ._chunk import CHUNK_PEOPLE, Chunk, TruthRows
from ._clock import Clock
from ._config import Effects, World, parse_effects
from ._log import EventLog, pick
from ._orders import emit_orders, make_orders
from ._service import emit_service
from ._truth import Truth
from ._web import emit_sessions, make_people, make_sessions

log = logging.getLogger(__name__)

CHUNKS_PER_IMPORT = 4  # 100,000 people per events import: each commit bounds the memory one import holds

__all__ = ["Simulation", "simulate"]


@dataclasses.dataclass
class Simulation:
    """What :func:`simulate` made: the store it wrote, the ground truth, the import report and how many
    anonymous visitors were stitched to customers."""

    store: Store
    truth: Truth
    report: ImportReport  # the events
    people_report: ImportReport  # customers and visitors, loaded first so identities stitch before events
    stitched: int
    seconds: float


def _check(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ConfigError(f"The {name} parameter of simulate must be an integer from {low:,} to {high:,}; "
                          f"got {value!r}", field=name)
    return int(value)


def _simulate_chunk(index: int, size: int, seed: int, world: World, clock: Clock, truth: TruthRows):
    """People, sessions and orders of one chunk (deterministic in seed and index)."""
    c = Chunk(index=index, size=size, seed=seed, world=world, clock=clock, log=EventLog(index, clock.end),
              truth=truth)
    people = make_people(c)
    sessions = make_sessions(c, people)
    orders = make_orders(c, people, sessions)
    return c, people, sessions, orders


def _identities(c: Chunk, people, sessions, world: World) -> Batch:
    """The chunk's customers (with attributes) and visitors as objects, and the hidden truth of each person."""
    known = people.known_from < np.iinfo(np.int64).max
    c.log.objects("customer", people.customer.filter(pa.array(known)), {
        "region": pick(world.regions, people.region[known]),
        "segment": pick(("existing", "new"), ~people.existing[known]),
        "language": pick(("en", "de"), people.german[known]),
        "consent_email": people.email_ok[known], "consent_push": people.push_ok[known]})
    used = np.unique(sessions.person + people.n * sessions.device)
    visitors = pa.chunked_array([people.visitor[0], people.visitor[1]]).combine_chunks().take(pa.array(used))
    c.log.objects("visitor", visitors, {"device": pick(("web", "app"), used >= people.n)})
    c.truth.people.append(pa.table({
        "customer_id": people.customer, "known": pa.array(known),
        "persona": pick([q.name for q in world.personas], people.persona),
        "existing": pa.array(people.existing), "web_visitor": people.visitor[0],
        "app_visitor": pc.if_else(pa.array(people.has_app), people.visitor[1], pa.scalar(None, pa.string()))}))
    return c.log.batch()


def _events(index: int, size: int, seed: int, world: World, clock: Clock, truth: TruthRows) -> Batch:
    c, people, sessions, orders = _simulate_chunk(index, size, seed, world, clock, truth)
    emit_sessions(c, people, sessions, sessions.start < people.cutoff[sessions.person])
    emit_orders(c, people, sessions, orders)
    emit_service(c, people, sessions, orders)
    return c.log.batch()


def _shifted(batch: Batch, offset: int) -> Batch:
    """The batch with its event positions moved by ``offset`` (unique across one import's batches)."""
    if offset == 0:
        return batch
    events = batch.events.set_column(0, "ord", pc.add(batch.events["ord"], offset))
    links = batch.event_objects
    links = links.set_column(0, "event_ord", pc.add(links["event_ord"], offset))
    return dataclasses.replace(batch, events=events, event_objects=links)


def _combined(reports: list[ImportReport]) -> ImportReport:
    """One report for the events imports (run id of the first; counts and seconds summed)."""
    first = reports[0]
    total = {k: sum(getattr(r, k) for r in reports) for k in
             ("events_imported", "objects_imported", "links_imported", "refused", "duplicates_skipped", "seconds")}
    return dataclasses.replace(first, **total)


def simulate(customers: int = 10_000, days: int = 90, seed: int = 1, *, effects: Effects | dict | str | Path | None = None,
             store: Store | str | Path | None = None, world: World | None = None,
             progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Simulate a retailer's customers, journeys, processes, contacts and surveys with planted effects.

    ``customers`` people (known customers and anonymous prospects) over ``days`` days from
    ``world.start``; the same ``seed`` and parameters give an identical store. ``effects`` changes the
    planted effects (an :class:`Effects`, a dict ``{effect: {parameter: value}}`` or a TOML file);
    ``store`` is a :class:`~journeymine.Store`, a path to a DuckDB file, or None for an in-memory store.
    Customers and visitors go in first (one import), every device's visitor is stitched to its
    customer with ``store.identify_many`` (merge time: the end of the period), then the events go in
    (one batch per chunk of 25,000 people, one import per 100,000 people), all inside
    :meth:`Store.bulk`, so the journey projection is built once.
    The mechanics and the truth are documented in ``docs/simulate.md``.

    >>> import journeymine as jm
    >>> sim = jm.simulate(customers=300, days=30, seed=7)
    >>> info = sim.store.info()
    >>> info.events > 5_000, info.objects_by_type["order"] > 0, sim.stitched > 0
    (True, True, True)
    """
    customers = _check("customers", customers, 1, 100_000_000)
    days = _check("days", days, 1, 3_650)
    seed = _check("seed", seed, 0, 2**63 - 1)
    world = world or World()
    world = dataclasses.replace(world, effects=parse_effects(effects) if effects is not None else world.effects)
    fx = world.effects
    if fx.confounder.enabled:
        world.persona(fx.confounder.persona)
    if fx.confusing_field.enabled and fx.confusing_field.field not in world.form_fields:
        raise ConfigError(f"confusing_field.field {fx.confusing_field.field!r} is not a form field; the address "
                          f"form has {list(world.form_fields)}", field="confusing_field.field")
    if world.effects.faster_picking.enabled and world.effects.faster_picking.day >= days:
        log.warning("faster_picking.day %d is after the last simulated day", world.effects.faster_picking.day)
    if isinstance(store, (str, Path)):
        store = connect(store)
    elif store is None:
        store = connect(":memory:")
    if store.info().events:
        raise ConfigError("simulate writes into an empty store; this one already holds events "
                          "(use a new file or ':memory:')", field="store")
    clock = Clock(world.start, days)
    truth = TruthRows()
    sizes = [min(CHUNK_PEOPLE, customers - i * CHUNK_PEOPLE) for i in range(-(-customers // CHUNK_PEOPLE))]
    pairs: list[tuple[pa.Array, pa.Array]] = []
    started = time.perf_counter()
    parameters = {"customers": customers, "days": days, "seed": seed, "start": world.start.isoformat(),
                  "company": world.company, "effects": world.effects.to_dict()}

    def people():  # pass 1: who exists and which visitor is whom (re-simulated identically in pass 2)
        for index, size in enumerate(sizes):
            c, p, s, _ = _simulate_chunk(index, size, seed, world, clock, TruthRows())
            c.truth = truth
            pairs.extend(c.pairs)
            yield _identities(c, p, s, world)

    def events():  # pass 2: the events, the next chunk simulated while the store loads this one
        with cf.ThreadPoolExecutor(1, thread_name_prefix="journeymine-simulate") as pool:
            futures = [pool.submit(_events, 0, sizes[0], seed, world, clock, truth)]
            offset = 0
            for index in range(len(sizes)):
                if index + 1 < len(sizes):
                    futures.append(pool.submit(_events, index + 1, sizes[index + 1], seed, world, clock, truth))
                if index % CHUNKS_PER_IMPORT == 0:
                    offset = 0  # ord numbers the events of one import
                batch = _shifted(futures[index].result(), offset)
                futures[index] = None
                offset += batch.events.num_rows
                yield batch
                if progress is not None:
                    progress(index + 1, len(sizes))

    source = f"simulate(seed={seed})"
    with store.bulk():  # the journey projection is built once, after the last import
        people_report = store.load(people(), source=f"{source}: people", format="simulation", parameters=parameters)
        visitors = pa.chunked_array([v for v, _ in pairs], pa.string()).to_pylist()
        known = pa.chunked_array([k for _, k in pairs], pa.string()).to_pylist()
        end = dt.datetime.fromtimestamp(clock.end / 1e6, dt.UTC)
        stitched = store.identify_many(zip(visitors, known), at=end)
        stream, parts = events(), -(-len(sizes) // CHUNKS_PER_IMPORT)
        reports = [store.load(itertools.islice(stream, CHUNKS_PER_IMPORT), format="simulation", parameters=parameters,
                              source=source if parts == 1 else f"{source}: events part {k + 1} of {parts}")
                   for k in range(parts)]
        stream.close()
    report = _combined(reports)
    units = pa.concat_tables(truth.units) if truth.units else pa.table({})
    result = Truth(parameters, units, pa.concat_tables(truth.people), pa.concat_tables(truth.contacts)
                   if truth.contacts else pa.table({}))
    seconds = time.perf_counter() - started
    log.info("simulated %d people over %d days: %d events, %d stitched in %.1fs", customers, days,
             report.events_imported, stitched, seconds)
    return Simulation(store=store, truth=result, report=report, people_report=people_report, stitched=stitched,
                      seconds=seconds)
