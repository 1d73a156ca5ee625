"""Candidate process causes of a journey outcome: features of the process objects linked to each unit.

A unit (e.g. a session) is **linked** to a process object (e.g. a payment) when an event is linked to
both (for a process type equal to the unit's type, the unit is its own process object). Of each
linked object's events only those **before the unit's cutoff** count (temporal precedence). A feature
holds for a unit when it holds for any of its linked objects. For each activity A of the process:

- ``occurred``: A happened (population: units with a linked object);
- ``rework``: A happened more than once (population: units where A happened);
- ``wait``: the longest waiting time before A (since the previous event of its object) exceeds a
  threshold θ (population: units where A happened after another event). Thresholds are the ones given
  for A (or for all activities), else the 50th, 75th and 90th percentiles of the population's waits;
  each is a separate feature (all are tested, and counted in the false-discovery control). Quartile
  bins of the wait with their outcome rates form the dose-response table.
- ``attribute``: an event of the object had ``attribute = value`` (for the ``attributes`` named;
  the ``top_values`` values held by most units; population: units with a linked object).

Two kinds are not per activity (population: units with a linked object, for both):

- ``violation`` (with a reference ``model``): a linked object's events before the cutoff already
  violate a constraint of the model, one feature per constraint some unit shows (its text as the
  detail), and one for any constraint (detail ``any violation``). Only the checks a cut-off case can
  judge count (:func:`~journeymine.processes._conformance.settled_violations`): unknown activity,
  start, edge, precedence, not_coexist, at_most_once, init, and response *with* ``within`` once the
  whole ``within`` lies before the cutoff. ``end``, ``existence`` and ``response`` without ``within``
  are left out: whether a case ends well is known only after the cutoff, and judging them on the
  cases that happen to be complete would use exactly that later knowledge.
- ``variant``: the activity sequence before the cutoff of the unit's **first linked object** (the
  one whose first event came first; ties: lowest object code; only objects with an event before the
  cutoff). The ``top_variants`` variants held by most units (ties: by their text) are one feature
  each (detail ``variant = a → b → c``); the others, and units with no event before the cutoff, are
  the unexposed rest of the population.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..processes._cases import Cases, event_values, load_cases
from ..processes._conformance import settled_violations
from ..processes._model import ReferenceModel
from ..store import Store
from ..timespan import parse_duration
from ._outcomes import Units

__all__ = ["Feature", "clusters", "features", "link", "longest_wait", "unit_rows"]


@dataclasses.dataclass(frozen=True, eq=False)
class Feature:
    process: str
    kind: str  # occurred, rework, wait, attribute, violation, variant
    activity: str | None
    detail: str  # threshold text, attribute = value, the constraint broken or the variant
    threshold_seconds: float | None
    population: np.ndarray  # bool per unit
    exposed: np.ndarray  # bool per unit (within the population)


def _pairs(store: Store, unit_type: str, other_type: str) -> tuple[np.ndarray, np.ndarray]:
    """(unit code, other code) of every pair of objects of the two types that share an event, sorted."""
    pairs = store.query("""
        SELECT DISTINCT a.object_code AS unit, b.object_code AS other
        FROM event_object a JOIN object ou ON ou.code = a.object_code
        JOIN event_object b ON b.event_code = a.event_code JOIN object op ON op.code = b.object_code
        WHERE ou.type = $u AND op.type = $p ORDER BY unit, other""", {"u": unit_type, "p": other_type})
    return pairs.column("unit").to_numpy(), pairs.column("other").to_numpy()


def clusters(store: Store, object_type: str, codes: np.ndarray) -> np.ndarray:
    """A dense cluster number per unit for bootstraps: its customer (the linked customer with the lowest
    code), or the unit itself when it is a customer or has none."""
    if object_type == "customer":
        return np.arange(codes.size)
    u, c = _pairs(store, object_type, "customer")
    first = np.r_[True, u[1:] != u[:-1]] if u.size else np.zeros(0, bool)
    u, c = u[first], c[first]
    at = np.minimum(np.searchsorted(u, codes), max(u.size - 1, 0))
    found = (u[at] == codes) if u.size else np.zeros(codes.size, bool)
    key = np.where(found, c[at] if u.size else 0, -1 - np.arange(codes.size))
    return np.unique(key, return_inverse=True)[1]


def link(store: Store, units: Units, process: str, c: Cases) -> tuple[np.ndarray, np.ndarray]:
    """(unit index, case index) of every unit-object link."""
    if process == units.object_type:
        at = np.searchsorted(c.seqs.actor_code, units.codes)
        ok = (at < c.n_cases) & (c.seqs.actor_code[np.minimum(at, max(c.n_cases - 1, 0))] == units.codes)
        return np.flatnonzero(ok), at[ok]
    u, p = _pairs(store, units.object_type, process)
    ui, pi = np.searchsorted(units.codes, u), np.searchsorted(c.seqs.actor_code, p)
    ok = (ui < units.codes.size) & (pi < c.n_cases)
    ok &= (units.codes[np.minimum(ui, max(units.codes.size - 1, 0))] == u) & \
        (c.seqs.actor_code[np.minimum(pi, max(c.n_cases - 1, 0))] == p)
    return ui[ok], pi[ok]


def unit_rows(store: Store, units: Units, process: str):
    """The process view of ``process`` and, for every unit, the rows of its linked objects before its
    cutoff: (cases, linked unit index per link, unit index per row, row, waiting seconds per case row)."""
    c = load_cases(store, process)
    ui, ci = link(store, units, process, c)
    at, row = _link_rows(c, ui, ci, units.cutoff)
    return c, ui, ui[at], row, _waits(c)


def _link_rows(c: Cases, ui: np.ndarray, ci: np.ndarray, cutoff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(link index, row) of every event of a linked object before its unit's cutoff, by link, then case order."""
    lengths = (c.ends - c.starts)[ci]
    at = np.repeat(np.arange(ci.size), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    row = np.repeat(c.starts[ci], lengths) + offsets
    keep = c.time[row] < cutoff[ui[at]]
    return at[keep], row[keep]


def _waits(c: Cases) -> np.ndarray:
    """Seconds since the previous event of the same case, per row (NaN for a case's first event)."""
    wait = np.full(c.seqs.n, np.nan)
    if c.seqs.n > 1:
        same = c.case[1:] == c.case[:-1]
        wait[1:][same] = (c.time[1:] - c.time[:-1])[same] / 1e6
    return wait


def longest_wait(store: Store, units: Units, process: str, activity: str) -> np.ndarray:
    """Per unit, the longest wait (s) before ``activity`` in its linked objects before its cutoff (NaN: none)."""
    c, _, unit, row, wait = unit_rows(store, units, process)
    out = np.full(units.codes.size, -np.inf)
    code = c.seqs.type_codes.get(activity, -2)
    mine = (c.activity[row] == code) & ~np.isnan(wait[row])
    np.maximum.at(out, unit[mine], wait[row[mine]])
    return np.where(out > -np.inf, out, np.nan)


def _any(n: int, unit: np.ndarray, flag: np.ndarray) -> np.ndarray:
    return np.bincount(unit[flag], minlength=n) > 0 if n else np.zeros(0, bool)


def features(store: Store, units: Units, process: str, *, thresholds: dict[str, list[float]] | list[float] | None,
             attributes: list[str], top_values: int, model: ReferenceModel | None = None,
             top_variants: int = 0) -> tuple[list[Feature], list[dict]]:
    """The candidate features of ``process`` for ``units`` and the dose-response rows of the waits."""
    c = load_cases(store, process)
    ui, ci = link(store, units, process, c)
    at, row = _link_rows(c, ui, ci, units.cutoff)
    unit, wait = ui[at], _waits(c)
    n = units.codes.size
    linked = _any(n, ui, np.ones(ui.size, bool))
    out: list[Feature] = []
    dose: list[dict] = []
    act = c.activity[row]
    for a in np.unique(act):
        name = c.names[a]
        mine = act == a
        count = np.bincount(unit[mine], minlength=n)
        happened = count > 0
        out.append(Feature(process, "occurred", name, "", None, linked, happened))
        out.append(Feature(process, "rework", name, "more than once", None, happened, count > 1))
        w = wait[row[mine]]
        has_w = ~np.isnan(w)
        if not has_w.any():
            continue
        longest = np.full(n, -np.inf)
        np.maximum.at(longest, unit[mine][has_w], w[has_w])
        population = longest > -np.inf
        values = longest[population]
        given = thresholds.get(name) if isinstance(thresholds, dict) else thresholds
        cuts = sorted({parse_duration(t, "thresholds") for t in given} if given else
                      {float(np.percentile(values, q)) for q in (50, 75, 90)})
        for theta in cuts:
            out.append(Feature(process, "wait", name, f"> {theta:g} s", theta, population, longest > theta))
        edges = np.unique(np.percentile(values, (0, 25, 50, 75, 100)))
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, max(edges.size - 2, 0))
        outcome = units.outcome[population]
        for b in range(max(edges.size - 1, 0)):
            inside = bins == b
            if inside.any():
                dose.append({"process": process, "activity": name, "low_seconds": float(edges[b]),
                             "high_seconds": float(edges[b + 1]), "units": int(inside.sum()),
                             "outcome_rate": float(outcome[inside].mean())})
    for attr in attributes:
        values = event_values(store, c.seqs.event[row], attr)
        if values.null_count == len(values):
            continue
        text = np.asarray(values.fill_null(""), dtype=object)
        held = {}
        for v in sorted(set(text.tolist()) - {""}):
            held[v] = _any(n, unit, text == v)
        for v in sorted(held, key=lambda v: (-int(held[v].sum()), v))[:top_values]:
            out.append(Feature(process, "attribute", None, f"{attr} = {v}", None, linked, held[v]))
    if model is not None:
        out += _violations(c, units, process, model, ui, ci, linked)
    if top_variants:
        out += _variants(c, n, process, ui, at, row, top_variants, linked)
    return out, dose


def _violations(c: Cases, units: Units, process: str, model: ReferenceModel, ui: np.ndarray, ci: np.ndarray,
                linked: np.ndarray) -> list[Feature]:
    """A feature per constraint of ``model`` that a linked object shows before its unit's cutoff, and one for any."""
    n = units.codes.size
    case, which, settled, labels = settled_violations(c, model)
    if not case.size or not ci.size:
        return []
    order = np.argsort(case, kind="stable")
    case, which, settled = case[order], which[order], settled[order]
    lo, hi = np.searchsorted(case, ci, side="left"), np.searchsorted(case, ci, side="right")
    count = hi - lo  # violations of every link's case, joined to the link
    pair_link = np.repeat(np.arange(ci.size), count)
    pair = np.repeat(lo, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    shown = settled[pair] < units.cutoff[ui[pair_link]]
    unit, k = ui[pair_link[shown]], which[pair[shown]]
    out = [Feature(process, "violation", None, "any violation", None, linked, _any(n, unit, np.ones(unit.size, bool)))]
    for j in np.unique(k):
        out.append(Feature(process, "violation", None, labels[j], None, linked, _any(n, unit, k == j)))
    return out if unit.size else []


def _variants(c: Cases, n: int, process: str, ui: np.ndarray, at: np.ndarray, row: np.ndarray, top: int,
              linked: np.ndarray) -> list[Feature]:
    """A feature for each of the ``top`` most held variants (before the cutoff) of the units' first linked objects."""
    if not row.size:
        return []
    first = np.r_[True, at[1:] != at[:-1]]  # the first row of every link with a row before the cutoff
    links, start = at[first], c.time[row[first]]
    owner = ui[links]
    order = np.lexsort((links, start, owner))  # per unit: earliest first event, then lowest object code
    chosen = np.zeros(ui.size, bool)
    chosen[links[order][np.r_[True, owner[order][1:] != owner[order][:-1]]]] = True
    mine = chosen[at]
    who, acts = ui[at[mine]], c.activity[row[mine]]
    bounds = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
    groups: dict[tuple[int, ...], list[int]] = {}
    for u, seq in zip(who[bounds].tolist(), np.split(acts, bounds[1:])):
        groups.setdefault(tuple(seq.tolist()), []).append(u)
    text = {seq: " → ".join(str(c.names[a]) for a in seq) for seq in groups}
    best = sorted(groups, key=lambda seq: (-len(groups[seq]), text[seq]))[:top]
    out = []
    for seq in best:
        exposed = np.zeros(n, bool)
        exposed[groups[seq]] = True
        out.append(Feature(process, "variant", None, f"variant = {text[seq]}", None, linked, exposed))
    return out


def unit_values(store: Store, units: Units, name: str, data: dict[str, pa.Table] | None) -> np.ndarray:
    """Text values of confounder ``name`` per unit: ``ATTR`` of the unit object, or ``TYPE.ATTR`` of
    an object of TYPE linked to the unit (the first by code); ``data`` ({type: table with ``id``})
    is consulted before the store's attributes."""
    kind, _, attr = name.rpartition(".")
    kind = kind or units.object_type
    objects = store.query("SELECT code, id FROM object WHERE type = $t ORDER BY code", {"t": kind})
    codes, ids = objects.column("code").to_numpy(), objects.column("id").combine_chunks()
    if data and kind in data:
        table = data[kind]
        table = table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)
        at = pc.index_in(ids, value_set=table.column("id").cast(pa.string()))
        values = table.column(attr).cast(pa.string()).combine_chunks().take(at)
    else:
        raw = store.query("SELECT code, json_extract_string(attributes, $p) AS v FROM object WHERE type = $t "
                          "ORDER BY code", {"p": "$." + attr, "t": kind})
        values = raw.column("v").combine_chunks()
    per_object = np.asarray(values.fill_null("(none)"), dtype=object)
    if kind == units.object_type:
        at = np.searchsorted(codes, units.codes)
        return per_object[np.minimum(at, max(codes.size - 1, 0))] if codes.size else np.full(units.codes.size, "(none)")
    u, o = _pairs(store, units.object_type, kind)
    first = np.r_[True, u[1:] != u[:-1]] if u.size else np.zeros(0, bool)
    u, o = u[first], o[first]  # the linked object of the type with the lowest code
    out = np.full(units.codes.size, "(none)", dtype=object)
    ui = np.searchsorted(u, units.codes)
    ok = (ui < u.size) & (u[np.minimum(ui, max(u.size - 1, 0))] == units.codes) if u.size else np.zeros(0, bool)
    if u.size:
        oi = np.searchsorted(codes, o[ui[ok]])
        out[ok] = per_object[oi]
    return out
