"""``jm.sessions``: each journey split into sessions by inactivity and a maximum length.

Semantics (:class:`~journeymine.SessionRule`): a customer's events in time order (ties by load order)
start a new session at an event more than ``gap`` (default 30 minutes) after the previous one, or more
than ``max_length`` (default 24 hours) after the first event of the current session; exactly ``gap``
later is still the same session. These are PostHog's and Google Analytics' rules. Sessions are
derived from all of the journey's events, whatever their channel; merged identities are resolved
first, so an anonymous visit that was stitched to the customer belongs to the customer's sessions.

The same sessions are the counting unit ``by="session"`` of :func:`~journeymine.funnel` and the
other journey analyses.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_instant
from ._units import SessionRule, load, parse_unit

__all__ = ["SessionsResult", "sessions"]


@dataclasses.dataclass(frozen=True, eq=False)
class SessionsResult(Result):
    """Derived sessions: one row per session in ``table`` and a summary.

    ``table`` columns: ``object_code``, ``object_id`` (the customer), ``session`` (1, 2, ... per
    customer), ``start``, ``end`` (first and last event), ``events``, ``duration_seconds``.
    """

    object_type: str
    gap_seconds: float
    max_length_seconds: float
    sessions: int
    actors: int
    events: int
    median_duration_seconds: float | None
    mean_events_per_session: float | None
    table: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in ("object_type", "gap_seconds", "max_length_seconds", "sessions",
                                              "actors", "events", "median_duration_seconds",
                                              "mean_events_per_session")}

    def segment(self) -> Segment:
        """All these sessions as a segment (``actors=`` of an analysis counting ``by="session"``)."""
        return Segment("sessions", self.object_type, self.table.column("object_code").to_numpy(),
                       self.table.column("start").cast(pa.int64()).to_numpy())


def sessions(store: Store, *, of: str = "customer", gap: object = "30m", max_length: object = "24h",
             start: object = None, end: object = None) -> SessionsResult:
    """The sessions of every journey of object type ``of`` (see the module docs for the rules).

    ``start``/``end`` keep events with ``start <= time < end`` before splitting.

    >>> import journeymine as jm
    >>> store = jm.simulate(customers=200, days=14, seed=1).store
    >>> s = jm.sessions(store)
    >>> s.sessions > s.actors > 0, bool(s.table.column("duration_seconds").to_numpy().max() <= 24 * 3600)
    (True, True)
    """
    rule = SessionRule(gap=gap, max_length=max_length, of=of)
    gap_s, max_s = rule.seconds()
    seqs = load(store, parse_unit("session", rule), start=parse_instant(start, "start"), end=parse_instant(end, "end"))
    n = seqs.n_actors
    bounds = np.flatnonzero(np.diff(seqs.actor, prepend=-1)) if seqs.n else np.zeros(0, np.int64)
    last = np.append(bounds[1:], seqs.n) - 1 if seqs.n else np.zeros(0, np.int64)
    first_of_customer = np.diff(seqs.actor_code, prepend=-1) != 0 if n else np.zeros(0, bool)
    customer_start = np.flatnonzero(first_of_customer)
    number = np.arange(n) - np.repeat(customer_start, np.diff(np.append(customer_start, n))) + 1
    ids = store.query("SELECT code, id FROM object WHERE type = $t ORDER BY code", {"t": of})
    known = ids.column("code").to_numpy()
    at = np.searchsorted(known, seqs.actor_code) if known.size else np.zeros(n, np.int64)
    starts, ends = seqs.time[bounds], seqs.time[last]
    duration = (ends - starts) / 1e6
    table = pa.table({
        "object_code": pa.array(seqs.actor_code, pa.int64()),
        "object_id": ids.column("id").take(pa.array(at)) if n else pa.array([], pa.string()),
        "session": pa.array(number, pa.int64()),
        "start": pa.array(starts, pa.int64()).cast(pa.timestamp("us")),
        "end": pa.array(ends, pa.int64()).cast(pa.timestamp("us")),
        "events": pa.array(last - bounds + 1, pa.int64()),
        "duration_seconds": pa.array(duration, pa.float64()),
    })
    return SessionsResult(
        object_type=of, gap_seconds=gap_s, max_length_seconds=max_s, sessions=n,
        actors=int(customer_start.size), events=seqs.n,
        median_duration_seconds=float(np.median(duration)) if n else None,
        mean_events_per_session=seqs.n / n if n else None, table=table)
