"""``jm.explain``: which process steps go with a journey outcome, how much, and what a fix is worth (J2P).

Semantics. ``outcome`` (:func:`~journeymine.dropped_after`, :func:`~journeymine.followed_by`) gives the
units, a 0/1 outcome each and a cutoff; the candidate causes are features of the process objects
linked to each unit, from events before the cutoff only (``_features``): activities that occurred or
recurred, waits, event attributes, and on request the violations of a reference ``model`` a linked
object already shows and its ``top_variants`` most frequent variants so far. ``model`` is one
:class:`~journeymine.ReferenceModel` (or model file) for the process type it names, for every process
searched when it names none, or a dict {process type: model}. For every feature, among its
population, the units with it (exposed) and without it are compared:

- **risk difference** RD = p(outcome | exposed) − p(outcome | not exposed) with Newcombe's 95 %
  interval, and **risk ratio** with Katz's log interval;
- with ``confounders`` (unit attributes ``ATTR``, linked objects' attributes ``TYPE.ATTR``, or columns
  of ``confounder_data`` tables), the **Mantel–Haenszel** RD and RR over the strata of their value
  combinations (Greenland–Robins variances), and the p-value of the adjusted RD; without, the p-value
  of the crude RD (two-proportion z test);
- **Benjamini–Hochberg** q-values over every feature tested; a feature is tested when at least
  ``min_support`` units are exposed and as many are not; **significant** when q <= ``alpha``;
- **attributable outcomes** = RD × exposed units (adjusted RD when confounders are given), with the
  interval from RD's: how many outcomes would not have happened had the exposed units been like the
  others — an estimate under the assumption that the feature causes the difference.

Findings are ranked significant first, then by attributable outcomes (largest first). This is
PostHog's correlation analysis and our ``jm.drivers`` carried over to process features, plus
adjustment; Celonis and Signavio link journeys to processes only as documentation, not on data.
Celonis' root-cause analysis and pm4py's Declare conformance relate variants and rule violations of
*complete* cases to a case outcome; here both are judged on the case as it stood before the cutoff.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..journeys._stats import bh_adjust, mantel_haenszel, normal_p, risk_difference, risk_ratio
from ..processes._model import ReferenceModel, as_model
from ..results import Result
from ..store import Store
from ._features import Feature, features, unit_values
from ._outcomes import Outcome, evaluate

__all__ = ["Explanation", "explain"]

_COLUMNS = ("process", "kind", "activity", "detail", "threshold_seconds", "exposed", "unexposed",
            "rate_exposed", "rate_unexposed", "risk_difference", "rd_low", "rd_high", "risk_ratio", "rr_low",
            "rr_high", "p_value", "q_value", "significant", "attributable", "attributable_low",
            "attributable_high", "sentence")


@dataclasses.dataclass(frozen=True, eq=False)
class Explanation(Result):
    """The J2P findings of one outcome: ``findings`` (one row per tested feature, ranked), the
    ``dose_response`` of the waits, and counts; ``sentences()`` for the significant findings."""

    outcome: str
    object_type: str
    units: int
    outcomes: int
    censored: int
    confounders: tuple[str, ...]
    tested: int
    untested: int
    findings: pa.Table = dataclasses.field(repr=False)
    dose_response: pa.Table = dataclasses.field(repr=False)

    def to_arrow(self) -> pa.Table:
        return self.findings

    def to_dict(self) -> dict[str, object]:
        return {"outcome": self.outcome, "object_type": self.object_type, "units": self.units,
                "outcomes": self.outcomes, "censored": self.censored, "confounders": list(self.confounders),
                "tested": self.tested, "untested": self.untested,
                "findings": self.findings.slice(0, 20).to_pylist()}

    def top(self, n: int = 5) -> list[dict[str, object]]:
        """The ``n`` best-ranked findings as dicts."""
        return self.findings.slice(0, n).to_pylist()

    def sentences(self) -> list[str]:
        """One sentence per significant finding, best first."""
        return [r["sentence"] for r in self.findings.to_pylist() if r["significant"]]


def _describe(f: Feature) -> str:
    if f.kind == "occurred":
        return f"{f.activity!r} happened"
    if f.kind == "rework":
        return f"{f.activity!r} happened more than once"
    if f.kind == "wait":
        return f"the wait before {f.activity!r} was over {_human(f.threshold_seconds)}"
    if f.kind == "violation":
        return f"the {f.process} deviated from the model" + ("" if f.detail == "any violation" else f" ({f.detail})")
    if f.kind == "variant":
        return f"the {f.process}'s path so far was " + f.detail.removeprefix("variant = ")
    return f"the {f.process} had {f.detail}"


def _models(model: object, processes: list[str]) -> dict[str, ReferenceModel]:
    """The reference model of each process searched: one model for its ``object_type`` (for every
    process when it names none), or a mapping {process type: model}."""
    if model is None:
        return {}
    if isinstance(model, dict):
        out = {}
        for p, m in model.items():
            if p not in processes:
                raise ConfigError(f"The model parameter must map process types searched ({', '.join(processes)}) "
                                  f"to models. Got a model for {p!r} instead.", field="model")
            out[p] = as_model(m)
            if out[p].object_type not in (None, p):
                raise ConfigError(f"The model parameter maps {p!r} to a model of {out[p].object_type!r}. "
                                  f"Give each process type a model of its own.", field="model")
        return out
    one = as_model(model)
    if one.object_type is None:
        return dict.fromkeys(processes, one)
    if one.object_type not in processes:
        raise ConfigError(f"The model parameter must be a model of a process type searched "
                          f"({', '.join(processes)}). Got a model of {one.object_type!r} instead.", field="model")
    return {one.object_type: one}


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _sentence(row: dict, f: Feature, units: str, label: str) -> str:
    rd, lo, hi = (100 * row[k] for k in ("risk_difference", "rd_low", "rd_high"))
    more = "more" if rd >= 0 else "less"
    text = (f"{units.capitalize()}s where {_describe(f)} were {label} {abs(rd):.1f} pp {more} often "
            f"({lo:+.1f} to {hi:+.1f} pp")
    text += ", adjusted)" if row.get("adjusted") else ")"
    if rd > 0:
        text += (f"; without it about {row['attributable']:,.0f} of these outcomes would not have happened "
                 f"({max(row['attributable_low'], 0):,.0f}-{row['attributable_high']:,.0f})")
    return text + "."


def _z_p(x1: int, n1: int, x0: int, n0: int) -> float:
    p = (x1 + x0) / (n1 + n0)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n0))
    return normal_p((x1 / n1 - x0 / n0) / se) if se > 0 else (1.0 if x1 * n0 == x0 * n1 else 0.0)


def explain(store: Store, outcome: Outcome, *, process: str | list[str] | None = None,
            confounders: list[str] | tuple[str, ...] = (), confounder_data: dict | None = None,
            thresholds: dict | list | None = None, attributes: list[str] | tuple[str, ...] = (),
            top_values: int = 5, model: object = None, top_variants: int = 0, min_support: int = 30,
            alpha: float = 0.05) -> Explanation:
    """The process causes of ``outcome`` (semantics in the module docs).

    ``process`` names the process object types to search (default: every type linked to the units
    except ``customer`` and ``visitor``); ``thresholds`` gives waiting-time thresholds per activity
    (``{"payment verification completed": ["2m"]}``) or for all; ``attributes`` event attributes of
    the process events to test (``["warehouse", "shipping"]``); ``model`` a reference model
    (:class:`~journeymine.ReferenceModel` or a model file) whose violations to test, for the process
    type it names (for every process when it names none), or a dict {process type: model};
    ``top_variants`` how many of the most frequent variants (before the cutoff) to test (0, the
    default: none)."""
    if isinstance(min_support, bool) or not isinstance(min_support, int) or min_support < 1:
        raise ConfigError(f"The min_support parameter must be a positive integer. Got {min_support!r} instead.",
                          field="min_support")
    if isinstance(top_variants, bool) or not isinstance(top_variants, int) or top_variants < 0:
        raise ConfigError(f"The top_variants parameter must be a non-negative integer. Got {top_variants!r} "
                          f"instead.", field="top_variants")
    if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ConfigError(f"The alpha parameter must be in (0, 1). Got {alpha!r} instead.", field="alpha")
    units = evaluate(store, outcome)
    if process is None:
        linked = store.query("""
            SELECT DISTINCT op.type AS t FROM event_object a JOIN object ou ON ou.code = a.object_code
            JOIN event_object b ON b.event_code = a.event_code JOIN object op ON op.code = b.object_code
            WHERE ou.type = $u ORDER BY t""", {"u": units.object_type}).column("t").to_pylist()
        process = [t for t in linked if t not in ("customer", "visitor")]
    processes = [process] if isinstance(process, str) else list(process)
    models = _models(model, processes)
    found, dose = [], []
    for p in processes:
        f, d = features(store, units, p, thresholds=thresholds, attributes=list(attributes), top_values=top_values,
                        model=models.get(p), top_variants=top_variants)
        found += f
        dose += d
    strata = None
    if confounders:
        values = [unit_values(store, units, name, confounder_data) for name in confounders]
        joined = np.array(["\x1f".join(v) for v in zip(*values)], dtype=object) if units.codes.size else values[0]
        _, strata = np.unique(joined, return_inverse=True)
    rows, tested = [], []
    y = units.outcome
    for f in found:
        pop = f.population
        e, u = pop & f.exposed, pop & ~f.exposed
        n1, n0 = int(e.sum()), int(u.sum())
        x1, x0 = int((y & e).sum()), int((y & u).sum())
        if n1 < min_support or n0 < min_support:
            continue
        rd, lo, hi = risk_difference(x1, n1, x0, n0)
        rr, rr_lo, rr_hi = risk_ratio(x1, n1, x0, n0)
        p = _z_p(x1, n1, x0, n0)
        adjusted = strata is not None
        if adjusted:
            k = strata.max() + 1 if strata.size else 0
            mh = mantel_haenszel(np.bincount(strata[e & y], minlength=k), np.bincount(strata[e], minlength=k),
                                 np.bincount(strata[u & y], minlength=k), np.bincount(strata[u], minlength=k))
            rd, lo, hi, p = mh["rd"], mh["rd_low"], mh["rd_high"], mh["rd_p"]
            rr, rr_lo, rr_hi = mh["rr"], mh["rr_low"], mh["rr_high"]
        rows.append({"process": f.process, "kind": f.kind, "activity": f.activity, "detail": f.detail,
                     "threshold_seconds": f.threshold_seconds, "exposed": n1, "unexposed": n0,
                     "rate_exposed": x1 / n1, "rate_unexposed": x0 / n0, "risk_difference": rd, "rd_low": lo,
                     "rd_high": hi, "risk_ratio": rr, "rr_low": rr_lo, "rr_high": rr_hi,
                     "p_value": p if math.isfinite(p) else 1.0, "attributable": rd * n1,
                     "attributable_low": lo * n1, "attributable_high": hi * n1, "adjusted": adjusted})
        tested.append(f)
    q = bh_adjust(np.array([r["p_value"] for r in rows]))
    for r, f, qv in zip(rows, tested, q):
        r["q_value"] = float(qv)
        r["significant"] = bool(qv <= alpha)
        r["sentence"] = _sentence(r, f, units.object_type, outcome.label)
    order = sorted(range(len(rows)), key=lambda i: (not rows[i]["significant"], -rows[i]["attributable"],
                                                    rows[i]["q_value"]))
    rows = [{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in rows[i].items()}
            for i in order]  # undefined estimates (e.g. a risk ratio with no outcome in any stratum) are null
    table = pa.table({c: [r[c] for r in rows] for c in _COLUMNS}) if rows else pa.table(
        {c: pa.array([], pa.string()) for c in _COLUMNS})
    return Explanation(outcome=outcome.label, object_type=units.object_type, units=int(units.codes.size),
                       outcomes=int(y.sum()), censored=units.censored, confounders=tuple(confounders),
                       tested=len(rows), untested=len(found) - len(rows), findings=table,
                       dose_response=pa.Table.from_pylist(dose) if dose else pa.table({}))

