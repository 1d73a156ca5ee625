"""Micro-journeys: form abandonment and cart abandonment as reports (``docs/abandonment.md``).

Neither report needs an explicit "abandoned" event: an attempt starts at its start event and is
abandoned when its completion event does not follow. Exact semantics, per actor of the counting unit
``by`` (events ordered by time, ties by load order):

- **Form attempts.** Every ``start_event`` starts an attempt, which runs up to the actor's next
  ``start_event`` (exclusive) and at most ``window`` after its start (bound inclusive). It is
  *submitted* when a ``submit_event`` falls in that span; the attempt ends at its first submit. Otherwise
  it is *abandoned*; the *last field touched* is the ``field_property`` of its last ``field_event``
  (``None`` when no field was focused). A field is *reached* by the attempts that focused it at least
  once; errors are the ``error_event`` rows of the attempts, by their ``field_property``. With ``form``
  only events whose ``form`` attribute equals it count. Fields are listed in form order: by the median
  position of their first focus within the attempts, ties by the earliest first focus.
- **Cart attempts** are the entrants of ``jm.funnel([cart_event, *checkout_steps, purchase_event],
  window, by=by)`` with its defaults (entry ``first``, order ``ordered``, ties ``strict``): one attempt
  per actor, from its first cart event; the deepest step reached in order within ``window`` says where a
  cart was abandoned (every cart without a purchase is).
- **Judged attempts.** An attempt whose ``window`` has not closed at the data end (``end`` if given and
  earlier than the last stored event, else the last event's time) cannot be judged yet: it is counted as
  ``open`` and left out of every rate.
- **Time to abandon** is from the attempt's start to its last event: the last start, field or error
  event of a form attempt, the last cart or checkout-step event within ``window`` of a cart.
- **Comebacks.** The person behind an attempt is the actor itself when the unit is a person type or a
  derived session (its customer), else the first of ``person_types`` linked to the attempt's start
  event (identities resolved, so a visitor merged into a customer is the customer). An abandoned attempt
  *returned* when the same person starts another attempt after its last event and within
  ``return_window`` (bound inclusive), and is *recovered* when one of the person's attempts is completed
  (submitted, purchased) in that span. Only abandoned attempts whose ``return_window`` ends by the data
  end and whose person is known are eligible. "Any later event" is not used: back-office events
  (e-mails sent, parcels) are linked to customers too and would count as a return.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ..results import Result, Segment
from ..store import Store
from ..timespan import parse_duration, parse_instant
from . import _chains
from ._stats import risk_difference, wilson
from ._steps import Step, attribute_names, match, parse_steps
from ._units import Sequences, Unit, load, parse_unit

__all__ = ["CartAbandonment", "CartStep", "Comebacks", "FieldStats", "FormAbandonment", "cart_abandonment",
           "form_abandonment"]

PERSON_TYPES = ("customer", "visitor")
EPOCH, MICRO = dt.datetime(1970, 1, 1), dt.timedelta(microseconds=1)


def _rate(x: int, n: int, prefix: str) -> dict[str, float | None]:
    """``{prefix}_rate``, ``_low``, ``_high``: x / n with its Wilson 95 % interval (None when n is 0)."""
    low, high = wilson(x, n) if n else (None, None)
    return {f"{prefix}_rate": x / n if n else None, f"{prefix}_low": low, f"{prefix}_high": high}


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if values.size else None


@dataclasses.dataclass(frozen=True)
class Comebacks:
    """Returns and recoveries of the eligible abandoned attempts within ``window_seconds``."""

    window_seconds: float
    eligible: int
    returned: int
    returned_rate: float | None
    returned_low: float | None
    returned_high: float | None
    recovered: int
    recovered_rate: float | None
    recovered_low: float | None
    recovered_high: float | None
    median_seconds_to_return: float | None
    median_seconds_to_recover: float | None


@dataclasses.dataclass(frozen=True)
class FieldStats:
    """One form field: attempts that reached it and were abandoned there (rate with Wilson 95 %), errors,
    and the excess: its rate minus the pooled rate of the other fields, with Newcombe's 95 % interval."""

    field: str
    position: float | None  # median position of the field's first focus within the attempts (1-based)
    reached: int
    abandoned: int
    abandonment_rate: float | None
    abandonment_low: float | None
    abandonment_high: float | None
    errors: int
    attempts_with_error: int
    excess: float | None
    excess_low: float | None
    excess_high: float | None


@dataclasses.dataclass(frozen=True)
class CartStep:
    """One cart funnel step: judged carts that reached it, abandoned carts whose deepest step it is, the
    drop rate (abandoned / reached, Wilson 95 %) and its share of all abandoned carts."""

    name: str
    reached: int
    abandoned: int
    drop_rate: float | None
    drop_low: float | None
    drop_high: float | None
    share_of_abandoned: float | None


@dataclasses.dataclass(frozen=True, eq=False)
class _Abandonment(Result):
    """What both reports share. Counts are over judged attempts; ``open_attempts`` were left out.

    ``attempt_table`` has one row per attempt, judged or open, ordered by unit and start:
    ``object_code`` (and ``session_start`` for derived sessions), ``person_code``, ``started``,
    ``ended`` (the last event), ``completed``, ``judged``, and ``returned``/``recovered`` (null where the
    attempt is not eligible for comebacks).
    """

    by: str
    object_type: str
    window_seconds: float
    data_end: dt.datetime
    attempts: int
    completed: int
    abandoned: int
    abandonment_rate: float | None
    abandonment_low: float | None
    abandonment_high: float | None
    open_attempts: int
    median_seconds_to_abandon: float | None
    mean_seconds_to_abandon: float | None
    comebacks: Comebacks
    attempt_table: pa.Table = dataclasses.field(repr=False)

    def _headline(self) -> dict[str, object]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(_Abandonment)[:-2]}
        return d | {"comebacks": dataclasses.asdict(self.comebacks)}

    def _segment(self, name: str, keep: np.ndarray) -> Segment:
        t = self.attempt_table
        t = t.filter(pa.array(keep & t.column("judged").to_numpy(zero_copy_only=False)))
        codes = t.column("object_code").to_numpy()
        if "session_start" not in t.column_names:
            return Segment(name, self.object_type, np.unique(codes))
        pairs = np.unique(np.stack([codes, t.column("session_start").cast(pa.int64()).to_numpy()], axis=1), axis=0)
        return Segment(name, self.object_type, pairs[:, 0], pairs[:, 1])


@dataclasses.dataclass(frozen=True, eq=False)
class FormAbandonment(_Abandonment):
    """Form attempts, the field each abandoned attempt was left at, and comebacks.

    ``attempt_table`` also has ``last_field`` (the last field focused, null when none was).
    """

    form: str | None = None
    abandoned_before_first_field: int = 0
    fields: tuple[FieldStats, ...] = ()

    def field(self, name: str) -> FieldStats:
        """The numbers of the field ``name``."""
        for f in self.fields:
            if f.field == name:
                return f
        raise ConfigError(f"The name parameter must be a field of the form, one of {[f.field for f in self.fields]}."
                          f" Got {name!r} instead.", field="name")

    def to_arrow(self) -> pa.Table:
        """One row per field, in form order."""
        types = {"str": pa.string(), "int": pa.int64()}
        schema = pa.schema([(f.name, types.get(f.type, pa.float64())) for f in dataclasses.fields(FieldStats)])
        return pa.Table.from_pylist([dataclasses.asdict(f) for f in self.fields], schema=schema)

    def to_dict(self) -> dict[str, object]:
        return {"form": self.form, **self._headline(),
                "abandoned_before_first_field": self.abandoned_before_first_field,
                "fields": [dataclasses.asdict(f) for f in self.fields]}

    def abandoned_segment(self, field: str | None = None) -> Segment:
        """The units with an abandoned judged attempt (left at ``field``, if given)."""
        t = self.attempt_table
        keep = ~t.column("completed").to_numpy(zero_copy_only=False)
        if field is not None:
            self.field(field)
            keep &= pc.equal(t.column("last_field"), field).fill_null(False).to_numpy(zero_copy_only=False)
        return self._segment("abandoned the form" + ("" if field is None else f" at {field}"), keep)


@dataclasses.dataclass(frozen=True, eq=False)
class CartAbandonment(_Abandonment):
    """Carts, the deepest checkout step of the abandoned ones, and comebacks.

    ``attempt_table`` also has ``depth`` (as in ``jm.funnel``) and ``deepest_step``.
    """

    steps: tuple[CartStep, ...] = ()

    def to_arrow(self) -> pa.Table:
        """One row per step: the cart, each checkout step, the purchase."""
        rows = [dataclasses.asdict(s) | {"step": i + 1} for i, s in enumerate(self.steps)]
        return pa.Table.from_pylist(rows).select(["step", *[f.name for f in dataclasses.fields(CartStep)]])

    def to_dict(self) -> dict[str, object]:
        return {**self._headline(), "steps": [dataclasses.asdict(s) for s in self.steps]}

    def abandoned_segment(self, step: int | None = None) -> Segment:
        """The units with an abandoned judged cart (whose deepest step is ``step``, 1-based, if given)."""
        depth = self.attempt_table.column("depth").to_numpy()
        if step is None:
            return self._segment("abandoned the cart", depth < len(self.steps))
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step < len(self.steps):
            raise ConfigError(f"The step parameter must be a step number from 1 to {len(self.steps) - 1}. "
                              f"Got {step!r} instead.", field="step")
        return self._segment(f"abandoned the cart at {self.steps[step - 1].name}", depth == step)


def _upto(group: np.ndarray, time: np.ndarray, q_group: np.ndarray, q_time: np.ndarray) -> np.ndarray:
    """For rows sorted by (group, time): how many rows come at or before each query (q_group, q_time),
    i.e. the rows of lower groups and those of q_group with time <= q_time. Times become ranks so that
    (group, rank) fits one int64 key."""
    times = np.unique(time)
    span = times.size + 1
    key = group.astype(np.int64) * span + np.searchsorted(times, time)
    return np.searchsorted(key, q_group.astype(np.int64) * span + np.searchsorted(times, q_time, side="right"))


def _next_after(person: np.ndarray, time: np.ndarray, q_person: np.ndarray, q_time: np.ndarray) -> np.ndarray:
    """The earliest ``time`` of the same person strictly after each query time (-1 where none)."""
    if person.size == 0:
        return np.full(q_person.size, -1, np.int64)
    order = np.lexsort((time, person))
    person, time = person[order], time[order]
    at = np.minimum(_upto(person, time, q_person, q_time), person.size - 1)
    return np.where((person[at] == q_person) & (time[at] > q_time), time[at], -1)


def _people(store: Store, unit: Unit, seqs: Sequences, rows: np.ndarray, event_type: str,
            person_types: tuple[str, ...], t_start, t_end) -> np.ndarray:
    """The person (object code) behind each of ``rows``: the actor when it is a person or a derived
    session, else the first person type linked to the row's event; -1 where none is."""
    if unit.sessions is not None or unit.object_type in person_types:
        return seqs.actor_code[seqs.actor[rows]].astype(np.int64)
    events, out = seqs.event[rows], np.full(rows.size, -1, np.int64)
    for ptype in person_types:
        table = store.sequences(ptype, types=[event_type], start=t_start, end=t_end)
        ev, code = table.column("event").to_numpy(), table.column("actor").to_numpy()
        if ev.size:
            order = np.lexsort((code, ev))
            ev, code = ev[order], code[order]
            j = np.minimum(np.searchsorted(ev, events), ev.size - 1)
            hit = (ev[j] == events) & (out < 0)
            out[hit] = code[j[hit]]
    return out


def _comebacks(window_us: int, horizon: int, person: np.ndarray, started: np.ndarray, completed_at: np.ndarray,
               abandoned: np.ndarray, ended: np.ndarray) -> tuple[Comebacks, dict[str, pa.Array]]:
    """Comebacks of the abandoned attempts, and the ``returned``/``recovered`` columns of the attempts."""
    eligible = abandoned & (person >= 0) & (ended + window_us <= horizon)
    done = completed_at >= 0
    nxt = _next_after(person, started, person, ended)
    rec = _next_after(person[done], completed_at[done], person, ended)
    returned = eligible & (nxt >= 0) & (nxt - ended <= window_us)
    recovered = eligible & (rec >= 0) & (rec - ended <= window_us)
    n, r, v = int(eligible.sum()), int(returned.sum()), int(recovered.sum())
    stats = Comebacks(window_seconds=window_us / 1e6, eligible=n, returned=r, **_rate(r, n, "returned"),
                      recovered=v, **_rate(v, n, "recovered"),
                      median_seconds_to_return=_median((nxt - ended)[returned] / 1e6),
                      median_seconds_to_recover=_median((rec - ended)[recovered] / 1e6))
    return stats, {"returned": pa.array(returned, mask=~eligible), "recovered": pa.array(recovered, mask=~eligible)}


def _horizon(store: Store, t_end: dt.datetime | None) -> int:
    """The data end in µs: the last event's time, or ``end`` when that is earlier."""
    last = store.query("SELECT max(time) AS last_time FROM event").column(0)[0].as_py()
    values = [(v - EPOCH) // MICRO for v in (last, t_end) if v is not None]
    return min(values) if values else 0


def _options(by: object, window: object, return_window: object, person_types: object, start: object,
             end: object) -> tuple[Unit, int, int, tuple[str, ...], dt.datetime | None, dt.datetime | None]:
    """The parameters both reports share, validated."""
    if isinstance(person_types, str) or not isinstance(person_types, Sequence) or not person_types or \
            not all(isinstance(v, str) and v for v in person_types):
        raise ConfigError(f"The person_types parameter must be a non-empty list of object types. Got "
                          f"{person_types!r} instead.", field="person_types")
    return (parse_unit(by), round(parse_duration(window, "window") * 1e6),
            round(parse_duration(return_window, "return_window") * 1e6), tuple(person_types),
            parse_instant(start, "start"), parse_instant(end, "end"))


def _event(value: object, field: str) -> Step:
    steps = parse_steps(value, field)
    if len(steps) != 1:
        raise ConfigError(f"The {field} parameter must be one event type. Got {value!r} instead.", field=field)
    return steps[0]


def _table(seqs: Sequences, actor: np.ndarray, person: np.ndarray, started: np.ndarray, ended: np.ndarray,
           columns: dict[str, pa.Array]) -> pa.Table:
    """The attempt table, ordered by unit and start time."""
    ts = pa.timestamp("us")
    head: dict[str, pa.Array] = {"object_code": pa.array(seqs.actor_code[actor], pa.int64())}
    if seqs.session_start is not None:
        head["session_start"] = pa.array(seqs.session_start[actor], pa.int64()).cast(ts)
    head |= {"person_code": pa.array(person, pa.int64(), mask=person < 0),
             "started": pa.array(started, pa.int64()).cast(ts), "ended": pa.array(ended, pa.int64()).cast(ts)}
    keys = [(k, "ascending") for k in ("object_code", "session_start", "started") if k in head]
    return pa.table(head | columns).sort_by(keys)


def _last_per_group(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group, last value) of each run of equal ``groups`` (sorted)."""
    last = np.r_[np.flatnonzero(groups[1:] != groups[:-1]), groups.size - 1] if groups.size else groups
    return groups[last], values[last]


def form_abandonment(
    store: Store, *, start_event: object = "form started", field_event: object = "form field focused",
    field_property: str = "field", submit_event: object = "form submitted", error_event: object = "form field error",
    form: str | None = None, by: object = "object:session", window: object = "1h", return_window: object = "48h",
    person_types: Sequence[str] = PERSON_TYPES, start: object = None, end: object = None,
    actors: Segment | None = None,
) -> FormAbandonment:
    """Form attempts, the field each abandoned one was left at, and comebacks (semantics in the module docs).

    >>> import journeymine as jm
    >>> r = jm.form_abandonment(jm.simulate(customers=300, days=30, seed=2).store)
    >>> r.attempts == r.completed + r.abandoned
    True
    >>> [f.field for f in r.fields]
    ['email', 'name', 'street', 'postcode', 'city', 'phone']
    """
    steps = [_event(v, f) for v, f in ((start_event, "start_event"), (field_event, "field_event"),
                                       (submit_event, "submit_event"), (error_event, "error_event"))]
    if form is not None:
        if not isinstance(form, str) or not form:
            raise ConfigError(f"The form parameter must be a form name or None. Got {form!r} instead.", field="form")
        steps = [dataclasses.replace(s, where={**s.where, "form": form}) for s in steps]
    if not isinstance(field_property, str) or not field_property:
        raise ConfigError(f"The field_property parameter must be an attribute name. Got {field_property!r} instead.",
                          field="field_property")
    unit, window_us, return_us, people, t_start, t_end = _options(by, window, return_window, person_types, start, end)
    seqs = load(store, unit, types={s.event for s in steps}, start=t_start, end=t_end, actors=actors,
                event_attributes=sorted({field_property, *attribute_names(steps)}))
    m_start, m_field, m_submit, m_error = (match(seqs, s) for s in steps)
    horizon = _horizon(store, t_end)
    # attempts: a row belongs to the last start at or before it (same actor, within the window), up to the
    # attempt's first submit
    srow, rows = np.flatnonzero(m_start), np.arange(seqs.n)
    aid = np.cumsum(m_start) - 1
    at = srow[np.maximum(aid, 0)] if srow.size else rows
    inside = (aid >= 0) & (seqs.actor[at] == seqs.actor) & (seqs.time - seqs.time[at] <= window_us)
    first_sub = np.full(srow.size, -1)
    sub_rows = np.flatnonzero(inside & m_submit)
    found, first = np.unique(aid[sub_rows], return_index=True)
    first_sub[found] = sub_rows[first]
    inside &= (first_sub[np.maximum(aid, 0)] < 0) | (rows <= first_sub[np.maximum(aid, 0)]) if srow.size else inside
    submitted, started = first_sub >= 0, seqs.time[srow]
    judged = started + window_us <= horizon
    abandoned = judged & ~submitted
    last_row = srow.copy()
    body = np.flatnonzero(inside & ~m_submit)
    g, r = _last_per_group(aid[body], body)
    last_row[g] = r
    ended = np.where(submitted, seqs.time[np.maximum(first_sub, 0)], seqs.time[last_row])
    # fields: the focus and error rows, their field values encoded together
    fe = np.flatnonzero(inside & (m_field | m_error))
    encoded = pc.dictionary_encode(seqs.attrs[f"e.{field_property}"].take(pa.array(fe)).fill_null("(none)"))
    names, code = encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    n_f, focus, fa, fj = len(names), m_field[fe], aid[fe], judged[aid[fe]]
    last_field = np.full(srow.size, -1)
    g, r = _last_per_group(fa[focus], code[focus])
    last_field[g] = r
    firsts = np.sort(np.unique(fa[focus & fj] * n_f + code[focus & fj], return_index=True)[1])
    f_rows = fe[focus & fj][firsts]  # each judged attempt's first focus of each field, in row order
    f_code, f_att = code[focus & fj][firsts], fa[focus & fj][firsts]
    new = np.r_[True, f_att[1:] != f_att[:-1]] if f_att.size else np.zeros(0, bool)
    position = np.arange(f_att.size) - np.flatnonzero(new)[np.cumsum(new) - 1] + 1
    reached = np.bincount(f_code, minlength=n_f)
    left = np.bincount(last_field[abandoned & (last_field >= 0)], minlength=n_f)
    err = ~focus & fj
    errors = np.bincount(code[err], minlength=n_f)
    with_error = np.bincount(np.unique(fa[err] * n_f + code[err]) % max(n_f, 1), minlength=n_f)
    fields = []
    for k, name in enumerate(names):
        p, x, n = position[f_code == k], int(left[k]), int(reached[k])
        excess = risk_difference(x, n, int(left.sum()) - x, int(reached.sum()) - n)  # NaNs when a side is empty
        first_time = seqs.time[f_rows[f_code == k]].min() if p.size else np.iinfo(np.int64).max
        fields.append(((_median(p) or math.inf, first_time, name), FieldStats(
            field=name, position=_median(p), reached=n, abandoned=x, **_rate(x, n, "abandonment"),
            errors=int(errors[k]), attempts_with_error=int(with_error[k]),
            **{key: None if math.isnan(v) else v for key, v in zip(("excess", "excess_low", "excess_high"), excess)})))
    person = _people(store, unit, seqs, srow, steps[0].event, people, t_start, t_end)
    comebacks, columns = _comebacks(return_us, horizon, person, started, np.where(submitted, ended, -1), abandoned,
                                    ended)
    to_abandon, n_judged, n_ab = (ended - started)[abandoned] / 1e6, int(judged.sum()), int(abandoned.sum())
    last_names = np.array([*names, None], dtype=object)[last_field]
    table = _table(seqs, seqs.actor[srow], person, started, ended, {
        "completed": pa.array(submitted), "last_field": pa.array(last_names.tolist(), pa.string()),
        "judged": pa.array(judged), **columns})
    return FormAbandonment(
        by=unit.label, object_type=unit.object_type, window_seconds=window_us / 1e6,
        data_end=EPOCH + horizon * MICRO, attempts=n_judged, completed=int((judged & submitted).sum()),
        abandoned=n_ab, **_rate(n_ab, n_judged, "abandonment"), open_attempts=int(srow.size - n_judged),
        median_seconds_to_abandon=_median(to_abandon),
        mean_seconds_to_abandon=float(to_abandon.mean()) if to_abandon.size else None, comebacks=comebacks,
        attempt_table=table, form=form, abandoned_before_first_field=int((abandoned & (last_field < 0)).sum()),
        fields=tuple(f for _, f in sorted(fields, key=lambda t: t[0])))


def cart_abandonment(
    store: Store, *, cart_event: object = "added to cart",
    checkout_steps: Sequence[object] = ("checkout address", "checkout delivery", "checkout payment"),
    purchase_event: object = "order placed", window: object = "24h", by: object = "object:session",
    return_window: object = "48h", person_types: Sequence[str] = PERSON_TYPES, start: object = None,
    end: object = None, actors: Segment | None = None,
) -> CartAbandonment:
    """Carts, the deepest checkout step of each abandoned one, and comebacks (semantics in the module docs).

    >>> import journeymine as jm
    >>> r = jm.cart_abandonment(jm.simulate(customers=300, days=30, seed=2).store)
    >>> [s.name for s in r.steps]
    ['added to cart', 'checkout address', 'checkout delivery', 'checkout payment', 'order placed']
    >>> sum(s.abandoned for s in r.steps) == r.abandoned
    True
    """
    steps = [_event(cart_event, "cart_event"), *parse_steps(checkout_steps, "checkout_steps", minimum=0),
             _event(purchase_event, "purchase_event")]
    unit, window_us, return_us, people, t_start, t_end = _options(by, window, return_window, person_types, start, end)
    seqs = load(store, unit, types={s.event for s in steps}, event_attributes=attribute_names(steps),
                start=t_start, end=t_end, actors=actors)
    masks = [match(seqs, s) for s in steps]
    carts, depth, _, times, _ = _chains.match_ordered(seqs.key, seqs.time, masks, window_us, entry="first")
    actor, n = seqs.actor[carts], len(steps)
    horizon = _horizon(store, t_end)
    started, completed = times[0], depth == n
    judged = started + window_us <= horizon
    abandoned = judged & ~completed
    body = np.flatnonzero(np.logical_or.reduce(masks[:-1]))  # the cart and checkout rows: the last one in the
    last = _upto(seqs.actor[body], seqs.time[body], actor, started + window_us) - 1  # window
    ended = np.where(completed, times[-1], seqs.time[body[np.maximum(last, 0)]] if body.size else started)
    person = _people(store, unit, seqs, carts, steps[0].event, people, t_start, t_end)
    comebacks, columns = _comebacks(return_us, horizon, person, started, np.where(completed, times[-1], -1),
                                    abandoned, ended)
    n_judged, n_ab = int(judged.sum()), int(abandoned.sum())
    cart_steps = []
    for k, step in enumerate(steps):
        reached, dropped = int((judged & (depth > k)).sum()), int((abandoned & (depth == k + 1)).sum())
        rate = _rate(dropped, reached if k < n - 1 else 0, "drop")
        cart_steps.append(CartStep(name=step.label, reached=reached, abandoned=dropped, **rate,
                                   share_of_abandoned=dropped / n_ab if n_ab else None))
    to_abandon = (ended - started)[abandoned] / 1e6
    labels = np.array([s.label for s in steps], dtype=object)[np.maximum(depth - 1, 0)]
    table = _table(seqs, actor, person, started, ended, {
        "depth": pa.array(depth.astype(np.int32)), "deepest_step": pa.array(labels.tolist(), pa.string()),
        "completed": pa.array(completed), "judged": pa.array(judged), **columns})
    return CartAbandonment(
        by=unit.label, object_type=unit.object_type, window_seconds=window_us / 1e6,
        data_end=EPOCH + horizon * MICRO, attempts=n_judged, completed=int((judged & completed).sum()),
        abandoned=n_ab, **_rate(n_ab, n_judged, "abandonment"), open_attempts=int(carts.size - n_judged),
        median_seconds_to_abandon=_median(to_abandon),
        mean_seconds_to_abandon=float(to_abandon.mean()) if to_abandon.size else None, comebacks=comebacks,
        attempt_table=table, steps=tuple(cart_steps))
