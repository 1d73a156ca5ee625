"""``jm.priorities``: one ranked action list — the urgent journey pains first (J2P), then the process
levers (P2J).

Semantics. ``outcomes`` maps a name to a journey outcome (``jm.followed_by``/``jm.dropped_after``) or
to ``(outcome, process object type)``; a bare outcome, or ``None`` as the type, searches every process
linked to the units, as ``jm.explain`` does. Default: ``retail_outcomes(store)`` (the contact after
an order in the order process, the payment drop-off in the payment process; only those whose events
the store holds). Two kinds of items follow, pains before levers:

1. **Pains** (kind ``"pain"``). For every outcome, ``jm.explain`` with ``confounders``, ``min_support``
   and ``alpha``; its **significant** findings with a **positive** risk difference are pains. Of the
   findings that name the same outcome, process, kind and activity (the wait before an activity at its
   several thresholds) only the one with the largest lower bound of attributable outcomes is kept
   (ties: the larger estimate). ``value`` is the finding's attributable outcomes (what a fix would
   recover: RD × exposed units) with its 95 % interval in ``low``/``high``; ``risk_difference``,
   ``rd_low``, ``rd_high`` and ``exposed`` are the finding's. Pains are ranked by the **lower bound**
   ``low`` (largest first; ties: ``value``): an action is worth most when even the pessimistic end of
   its interval is large. Attributable outcomes of different outcomes are compared one for one (an
   avoided drop-off weighs as much as an avoided contact).
2. **Levers** (kind ``"lever"``). For each process in ``process`` (object types or
   :class:`~journeymine.ProcessView`\\ s; default: the process types the outcomes name, in order),
   ``jm.bottlenecks``; its activities except the contact activity (``"service contact"``) and the
   outcomes' own events. First the ``levers`` activities (of all processes together) with the most
   total waiting (``value`` = waiting hours before the activity, all cases together), then the
   ``levers`` activities with the most rework events not listed yet (``value`` = rework events). Each
   has ``waiting_hours``, ``waiting_share`` (of its process's waiting) and ``rework_events``. When an
   outcome's process type is the lever's (for an outcome without one: a type linked to its units),
   the first such outcome gets a **projection** for waiting levers: ``jm.what_if`` with the activity's
   wait halved (``factor=0.5``, ``bootstrap`` resamples, ``seed``): ``baseline`` (the KPI now),
   ``projected_change`` = projected − baseline with the projected KPI's 95 % interval minus the
   baseline in ``projected_low``/``projected_high``. A projection is a model, not an observation (see
   ``jm.what_if``). It is made only when the step comes before the outcome: at least half of the units
   with the outcome have a wait before the activity before their cutoff (the wait before ``delivered``
   mostly comes after a where-is-my-order contact, and a wait after an outcome cannot cause it); else,
   or when ``what_if`` cannot fit, the evidence says why and the projection columns are empty.

``rank`` numbers the items 1.. in that order. There is no peer that ranks journey pains and process
levers on one list: process-mining suites (e.g. Celonis) rank improvement opportunities of process
KPIs and pm4py's performance views show bottlenecks, each one side; here both sides keep their own
units, bridged by the labelled ``jm.what_if`` projection.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from ..errors import ConfigError, JourneymineError
from ..processes import ProcessView, bottlenecks
from ..processes._bottlenecks import Bottlenecks
from ..results import Result
from ..store import Store
from ._defaults import CONTACT, retail_outcomes
from ._explain import Explanation, explain
from ._features import longest_wait
from ._outcomes import Outcome, evaluate
from ._whatif import what_if

__all__ = ["Priorities", "priorities"]

logger = logging.getLogger(__name__)

DEFAULT_LEVERS = 5
HALVED = 0.5
PRECEDES = 0.5  # least share of a KPI's outcomes with the lever's wait before them, to project
_COLUMNS = {"rank": pa.int64(), "kind": pa.string(), "action": pa.string(), "outcome": pa.string(),
            "value": pa.float64(), "low": pa.float64(), "high": pa.float64(), "unit": pa.string(),
            "evidence": pa.string(), "process": pa.string(), "activity": pa.string(),
            "threshold_seconds": pa.float64(), "exposed": pa.int64(), "risk_difference": pa.float64(),
            "rd_low": pa.float64(), "rd_high": pa.float64(), "waiting_hours": pa.float64(),
            "waiting_share": pa.float64(), "rework_events": pa.int64(), "baseline": pa.float64(),
            "projected_change": pa.float64(), "projected_low": pa.float64(), "projected_high": pa.float64()}


@dataclasses.dataclass(frozen=True, eq=False)
class Priorities(Result):
    """The ranked action list (semantics in the module docs): ``items`` (one row per action, pains
    first), the outcomes used, and the ``explanations`` and ``bottlenecks`` the items come from."""

    outcomes: dict[str, dict[str, object]]
    processes: tuple[str, ...]
    levers: int
    items: pa.Table = dataclasses.field(repr=False)
    explanations: dict[str, Explanation] = dataclasses.field(repr=False, default_factory=dict)
    bottlenecks: dict[str, Bottlenecks] = dataclasses.field(repr=False, default_factory=dict)

    def to_arrow(self) -> pa.Table:
        return self.items

    def to_dict(self) -> dict[str, object]:
        return {"outcomes": self.outcomes, "processes": list(self.processes), "levers": self.levers,
                "items": self.items.to_pylist()}

    def sentences(self) -> list[str]:
        """One line per item, in rank order: the action and its evidence."""
        return [f"{r['rank']}. {r['action']}: {r['evidence']}" for r in self.items.to_pylist()]


def _outcomes(store: Store, outcomes: object) -> dict[str, tuple[Outcome, str | None]]:
    if outcomes is None:
        found: dict[str, tuple[Outcome, str | None]] = dict(retail_outcomes(store))
        if not found:
            raise ConfigError("The outcomes parameter must be given: the store holds none of the default retail "
                              "outcomes' events (order placed and service contact, or the checkout payment steps).",
                              field="outcomes")
        return found
    bad = ConfigError("The outcomes parameter must map names to a jm.followed_by/jm.dropped_after outcome or to "
                      f"(outcome, process object type). Got {outcomes!r} instead.", field="outcomes")
    if not isinstance(outcomes, Mapping) or not outcomes:
        raise bad
    found = {}
    for name, value in outcomes.items():
        o, p = (value if isinstance(value, (tuple, list)) and len(value) == 2 else (value, None))
        if not isinstance(o, Outcome) or not (p is None or (isinstance(p, str) and p)):
            raise bad
        found[str(name)] = (o, p)
    return found


def _duration(seconds: float) -> str:
    """A threshold for people: 45 s, 2.0 min, 18.6 h, 2.9 d."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _action(r: dict) -> str:
    kind, activity, process = r["kind"], r["activity"], r["process"]
    if kind == "wait":
        return f"Shorten the wait before {activity!r} (over {_duration(r['threshold_seconds'])})"
    if kind == "rework":
        return f"Stop {activity!r} from happening more than once"
    if kind == "occurred":
        return f"Remove the need for {activity!r}"
    if kind == "violation":
        return f"Keep the {process} process to its model ({r['detail']})"
    return f"Review the {process}s with {r['detail']}"


def _pains(name: str, e: Explanation) -> list[dict]:
    """The significant findings with a positive risk difference, the best threshold per activity."""
    best: dict[tuple, dict] = {}
    for r in e.findings.to_pylist():
        if not r["significant"] or not (r["risk_difference"] or 0) > 0:
            continue
        key = (r["process"], r["kind"], r["activity"], None if r["kind"] == "wait" else r["detail"])
        if key not in best or (r["attributable_low"], r["attributable"]) > (best[key]["attributable_low"],
                                                                            best[key]["attributable"]):
            best[key] = r
    return [{"kind": "pain", "action": _action(r), "outcome": name, "value": r["attributable"],
             "low": r["attributable_low"], "high": r["attributable_high"], "unit": "outcomes avoided",
             "evidence": r["sentence"], "process": r["process"], "activity": r["activity"],
             "threshold_seconds": r["threshold_seconds"], "exposed": r["exposed"],
             "risk_difference": r["risk_difference"], "rd_low": r["rd_low"], "rd_high": r["rd_high"]}
            for r in best.values()]


def _linked_types(store: Store, unit_type: str) -> set[str]:
    rows = store.query("""
        SELECT DISTINCT op.type AS t FROM event_object a JOIN object ou ON ou.code = a.object_code
        JOIN event_object b ON b.event_code = a.event_code JOIN object op ON op.code = b.object_code
        WHERE ou.type = $u""", {"u": unit_type})
    return set(rows.column("t").to_pylist())


def _levers(reports: dict[str, Bottlenecks], count: int, skip: set[str]) -> list[dict]:
    rows = [{**r, "process": p} for p, b in reports.items() for r in b.activities.to_pylist()
            if r["activity"] not in skip]
    waiting = sorted((r for r in rows if r["waiting_total_seconds"] > 0),
                     key=lambda r: (-r["waiting_total_seconds"], r["process"], r["activity"]))[:count]
    chosen = {(r["process"], r["activity"]) for r in waiting}
    rework = sorted((r for r in rows if r["rework_instances"] > 0 and (r["process"], r["activity"]) not in chosen),
                    key=lambda r: (-r["rework_instances"], r["process"], r["activity"]))[:count]
    out = []
    for r, by_wait in [(r, True) for r in waiting] + [(r, False) for r in rework]:
        hours = r["waiting_total_seconds"] / 3600
        evidence = (f"{hours:,.0f} h of waiting before it over {r['cases']:,} {r['process']}s "
                    f"({100 * r['waiting_share']:.0f} % of the {r['process']} waiting), "
                    f"{r['rework_instances']:,} rework events")
        out.append({"kind": "lever", "by_wait": by_wait, "process": r["process"], "activity": r["activity"],
                    "action": (f"Cut the wait before {r['activity']!r} ({r['process']})" if by_wait else
                               f"Remove the rework of {r['activity']!r} ({r['process']})"),
                    "value": hours if by_wait else float(r["rework_instances"]),
                    "unit": "hours waited" if by_wait else "rework events", "evidence": evidence,
                    "waiting_hours": hours, "waiting_share": r["waiting_share"],
                    "rework_events": r["rework_instances"]})
    return out


def _project(store: Store, item: dict, name: str, outcome: Outcome, bootstrap: int, seed: int) -> None:
    """Add the what-if of halving the lever's wait on ``outcome``, when the step comes before the outcome."""
    units = evaluate(store, outcome)
    seen = ~np.isnan(longest_wait(store, units, item["process"], item["activity"]))
    before = float(seen[units.outcome].mean()) if units.outcome.any() else 0.0
    item["outcome"] = name
    if before < PRECEDES:
        item["evidence"] += (f"; not projected on {name!r}: only {100 * before:.0f} % of its outcomes had this wait "
                             f"before them (a wait after the outcome cannot cause it)")
        return
    try:
        w = what_if(store, outcome, item["activity"], process=item["process"], factor=HALVED, bootstrap=bootstrap,
                    seed=seed)
    except JourneymineError as exc:
        logger.info("priorities: no projection of %r for %r: %s", item["activity"], name, exc.message)
        item["evidence"] += f"; not projected on {name!r}: {exc.message}"
        return
    change, low, high = w.predicted - w.baseline, w.low - w.baseline, w.high - w.baseline
    item.update(baseline=w.baseline, projected_change=change, projected_low=low, projected_high=high)
    item["evidence"] += (f"; halving that wait projects {name!r} at {100 * w.predicted:.1f} % instead of "
                         f"{100 * w.baseline:.1f} % ({100 * change:+.1f} pp, 95 % {100 * low:+.1f} to "
                         f"{100 * high:+.1f} pp; a model-based projection, jm.what_if, not an observation)")


def _count(value: object, field: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"The {field} parameter must be an integer of at least {least}. Got {value!r} instead.",
                          field=field)
    return value


def priorities(store: Store, *, outcomes: Mapping | None = None, process: object = None, levers: int | None = None,
               confounders: list[str] | tuple[str, ...] = (), min_support: int = 30, alpha: float = 0.05,
               bootstrap: int = 200, seed: int = 0) -> Priorities:
    """One ranked action list: journey pains first, then process levers (semantics in the module docs).

    ``outcomes``: {name: outcome or (outcome, process type)}, default ``retail_outcomes(store)``;
    ``process``: the process object types (or views) whose levers to list, default those the outcomes
    name; ``levers``: how many levers by waiting and how many by rework (default 5 each);
    ``confounders``, ``min_support``, ``alpha`` go to ``jm.explain``; ``bootstrap``, ``seed`` to
    ``jm.what_if``."""
    if not isinstance(store, Store):
        raise ConfigError(f"The store parameter must be a jm.Store. Got {type(store).__name__} instead.",
                          field="store")
    count = DEFAULT_LEVERS if levers is None else _count(levers, "levers", 0)
    _count(bootstrap, "bootstrap", 100)
    _count(seed, "seed", 0)
    if isinstance(confounders, str) or not all(isinstance(c, str) and c for c in confounders):
        raise ConfigError(f"The confounders parameter must be a list of attribute names. Got {confounders!r} "
                          f"instead.", field="confounders")
    found = _outcomes(store, outcomes)
    if process is None:
        sources: list[str | ProcessView] = list(dict.fromkeys(p for _, p in found.values() if p is not None))
    else:
        sources = [process] if isinstance(process, (str, ProcessView)) else list(process)
        if not sources or not all(isinstance(p, ProcessView) or (isinstance(p, str) and p) for p in sources):
            raise ConfigError(f"The process parameter must name process object types or be process views. "
                              f"Got {process!r} instead.", field="process")
    explanations = {name: explain(store, o, process=p, confounders=list(confounders), min_support=min_support,
                                  alpha=alpha) for name, (o, p) in found.items()}
    pains = [item for name, e in explanations.items() for item in _pains(name, e)]
    pains.sort(key=lambda r: (-r["low"] if r["low"] is not None and math.isfinite(r["low"]) else math.inf,
                              -r["value"]))
    reports = {}
    for src in sources:
        b = bottlenecks(src) if isinstance(src, ProcessView) else bottlenecks(store, src)
        reports[b.object_type] = b
    skip = {CONTACT} | {o.params["event"] for o, _ in found.values() if o.kind == "followed_by"}
    lever_items = _levers(reports, count, skip) if count else []
    linked = {name: ({p} if p is not None else _linked_types(store, o.object_type)) for name, (o, p) in found.items()}
    for item in lever_items:
        if not item.pop("by_wait"):
            continue
        name = next((n for n in found if item["process"] in linked[n]), None)
        if name is not None:
            _project(store, item, name, found[name][0], bootstrap, seed)
    rows = [{"rank": i + 1, **r} for i, r in enumerate(pains + lever_items)]
    items = pa.table({k: pa.array([r.get(k) for r in rows], t) for k, t in _COLUMNS.items()})
    used = {name: {"label": o.label, "process": p, "units": explanations[name].units,
                   "outcomes": explanations[name].outcomes} for name, (o, p) in found.items()}
    logger.debug("priorities: %d pains, %d levers", len(pains), len(lever_items))
    return Priorities(outcomes=used, processes=tuple(reports), levers=count, items=items,
                      explanations=explanations, bottlenecks=reports)
