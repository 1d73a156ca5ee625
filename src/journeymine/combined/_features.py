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
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..processes._cases import Cases, event_values, load_cases
from ..store import Store
from ..timespan import parse_duration
from ._outcomes import Units

__all__ = ["Feature", "clusters", "features", "link", "longest_wait", "unit_rows"]


@dataclasses.dataclass(frozen=True, eq=False)
class Feature:
    process: str
    kind: str  # occurred, rework, wait, attribute
    activity: str | None
    detail: str  # threshold text or attribute=value
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
    lengths = (c.ends - c.starts)[ci]
    unit = np.repeat(ui, lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    row = np.repeat(c.starts[ci], lengths) + offsets
    keep = c.time[row] < units.cutoff[unit]
    wait = np.full(c.seqs.n, np.nan)
    if c.seqs.n > 1:
        same = c.case[1:] == c.case[:-1]
        wait[1:][same] = (c.time[1:] - c.time[:-1])[same] / 1e6
    return c, ui, unit[keep], row[keep], wait


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
             attributes: list[str], top_values: int) -> tuple[list[Feature], list[dict]]:
    """The candidate features of ``process`` for ``units`` and the dose-response rows of the waits."""
    c, ui, unit, row, wait = unit_rows(store, units, process)
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
    return out, dose


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
