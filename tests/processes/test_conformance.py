"""jm.check_conformance: hand-made logs with known answers, a brute-force reference on random logs,
and pm4py's declare conformance (and a pandas footprint of pm4py's frame) on real logs."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random

import numpy as np
import pandas as pd
import pm4py  # test-only peer (AGPL): never imported by the library
import pytest
import scipy.stats
from pm4py.algo.conformance.declare.variants.classic import apply_list

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.journeys._stats import wilson
from journeymine.processes._conformance import Conformance, bootstrap_medians, check_conformance, mann_whitney_p
from journeymine.processes._model import RULE_TYPES, ReferenceModel, Rule, derive_model

T0 = dt.datetime(2024, 1, 1)  # a Monday
DATA = "data"
CASE, ACTIVITY, TIME = "case:concept:name", "concept:name", "time:timestamp"


def log_store(rows) -> jm.Store:
    """rows: (case, activity, seconds after T0); rows of a case with equal times keep this order."""
    store = jm.connect(":memory:")
    df = pd.DataFrame({"case": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows]})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", case_col="case")
    return store


def case_rows(*cases: tuple[str, str]) -> list:
    """("p1", "a@0 b@10") -> rows; times in seconds (decimals allowed)."""
    return [(cid, a, float(t)) for cid, text in cases for a, t in (x.split("@") for x in text.split())]


def found(result: Conformance) -> dict[str, list[tuple[int | None, str]]]:
    return {r["case_id"]: [(v["event"], v["constraint"]) for v in r["violations"]] for r in result.table.to_pylist()}


def test_precedence_with_ties_in_load_order():
    store = log_store(case_rows(("p1", "a@0 b@10"), ("p2", "b@0 a@10"), ("p3", "b@0 a@1 b@2"), ("p4", "c@0"),
                                ("p5", "a@5 b@5"), ("p6", "b@5 a@5"), ("p7", "b@0 b@1")))
    result = check_conformance(store, ReferenceModel(rules=(Rule("precedence", "a", "b"),)))
    rule = "'a' must precede 'b'"
    assert found(result) == {"p1": [], "p2": [(1, rule)], "p3": [(1, rule)], "p4": [], "p5": [], "p6": [(1, rule)],
                             "p7": [(1, rule), (2, rule)]}
    assert result.table.column("fits").to_pylist() == [True, False, False, True, True, False, False]
    assert result.violations.to_pylist() == [{"kind": "precedence", "constraint": rule, "cases": 4, "share": 4 / 7,
                                              "occurrences": 5}]


def test_response_within_is_inclusive_and_ties_follow_load_order():
    rows = case_rows(("r1", "a@0 b@10"), ("r2", "a@0 b@10.000001"), ("r3", "a@0 b@5 a@6"), ("r4", "b@0 a@0"),
                     ("r5", "a@0 b@0"), ("r6", "a@0 a@3 b@12"), ("r7", "c@0"))
    timed = check_conformance(log_store(rows), {"rules": [{"type": "response", "a": "a", "b": "b", "within": "10s"}]})
    rule = "'a' must be responded by 'b' within 10s"
    assert found(timed) == {"r1": [], "r2": [(1, rule)], "r3": [(3, rule)], "r4": [(2, rule)], "r5": [],
                            "r6": [(1, rule)], "r7": []}
    any_time = check_conformance(log_store(rows), {"rules": [{"type": "response", "a": "a", "b": "b"}]})
    rule = "'a' must be responded by 'b'"
    assert found(any_time) == {"r1": [], "r2": [], "r3": [(3, rule)], "r4": [(2, rule)], "r5": [], "r6": [], "r7": []}
    time = timed.table.to_pylist()[1]["violations"][0]["time"]
    assert time == T0  # the a that went unanswered


def test_not_coexist_at_most_once_existence_and_init():
    store = log_store(case_rows(("n1", "a@0 c@1 b@2"), ("n2", "b@0 a@1"), ("n3", "a@0 a@1 c@2"), ("n4", "c@0 a@1 c@2 a@3 a@4")))
    model = {"rules": [{"type": "not_coexist", "a": "a", "b": "b"}, {"type": "at_most_once", "a": "a"},
                       {"type": "existence", "a": "b"}, {"type": "init", "a": "a"}]}
    nc, once, exists, init = "'a' and 'b' must not coexist", "'a' at most once", "'b' must occur", "case must start with 'a'"
    assert found(check_conformance(store, model)) == {
        "n1": [(3, nc)], "n2": [(1, init), (2, nc)], "n3": [(2, once), (None, exists)],
        "n4": [(1, init), (4, once), (5, once), (None, exists)]}


def test_dfg_part_unknown_activities_are_reported_once():
    store = log_store(case_rows(("d1", "a@0 b@1 c@2"), ("d2", "a@0 c@1"), ("d3", "b@0 c@1"), ("d4", "a@0 b@1"),
                                ("d5", "a@0 x@1 b@2 c@3"), ("d6", "x@0"), ("d7", "a@0 b@1 c@2 b@3 c@4")))
    model = ReferenceModel(start=["a"], end=["c"], edges=[("a", "b"), ("b", "c")])
    assert model.alphabet == {"a", "b", "c"}
    assert found(check_conformance(store, model)) == {
        "d1": [], "d2": [(2, "edge 'a' -> 'c' not allowed")], "d3": [(1, "start 'b' not allowed")],
        "d4": [(2, "end 'b' not allowed")], "d5": [(2, "unknown activity 'x'")], "d6": [(1, "unknown activity 'x'")],
        "d7": [(4, "edge 'c' -> 'b' not allowed")]}
    # only start given: no alphabet, so x is no unknown activity but a start that is not allowed
    assert found(check_conformance(store, {"start": ["a"]}))["d6"] == [(1, "start 'x' not allowed")]
    assert found(check_conformance(store, {"start": ["a"]}))["d5"] == []
    # activities extend the alphabet: x is known, its edges are not allowed
    got = found(check_conformance(store, {"edges": [["a", "b"], ["b", "c"]], "activities": ["x"]}))
    assert got["d5"] == [(2, "edge 'a' -> 'x' not allowed"), (3, "edge 'x' -> 'b' not allowed")] and got["d6"] == []


def test_summary_fitness_interval_periods_and_throughput():
    days = [0, 6, 7, 31, 32]  # Mon 1 Jan, Sun 7 Jan (same ISO week), Mon 8 Jan, 1 Feb, 2 Feb
    rows = []
    for i, d in enumerate(days):
        rows += [(f"c{i}", "a", d * 86400), (f"c{i}", "b" if i % 2 == 0 else "z", d * 86400 + 10 * (i + 1))]
    store = log_store(rows)
    result = check_conformance(store, {"end": ["b"]}, period="week")
    assert (result.cases, result.fitting, result.fitness) == (5, 3, 0.6)
    assert (result.fitness_low, result.fitness_high) == pytest.approx(wilson(3, 5))
    weeks = result.over_time.to_pylist()
    assert [(w["period"], w["cases"], w["fitting"]) for w in weeks] == [
        (dt.date(2024, 1, 1), 2, 1), (dt.date(2024, 1, 8), 1, 1), (dt.date(2024, 1, 29), 2, 1)]
    months = check_conformance(store, {"end": ["b"]}, period="month").over_time.to_pylist()
    assert [(m["period"], m["cases"]) for m in months] == [(dt.date(2024, 1, 1), 3), (dt.date(2024, 2, 1), 2)]
    assert len(check_conformance(store, {"end": ["b"]}, period="day").over_time) == 5
    t = result.throughput  # fitting: 10, 30, 50 s; deviating: 20, 40 s
    assert t["fitting"] == {"cases": 3, "median_seconds": 30.0, "mean_seconds": 30.0}
    assert t["deviating"] == {"cases": 2, "median_seconds": 30.0, "mean_seconds": 30.0}
    assert t["median_difference_seconds"] == 0.0 and t["difference_low"] <= 0 <= t["difference_high"]
    assert t["p_value"] == pytest.approx(scipy.stats.mannwhitneyu([20, 40], [10, 30, 50], method="asymptotic").pvalue)
    d = result.to_dict()
    assert d["deviating_examples"] == [{"case_id": "c1", "violations": ["end 'z' not allowed (event 2, 2024-01-07T00:00:20)"]},
                                       {"case_id": "c3", "violations": ["end 'z' not allowed (event 2, 2024-02-01T00:00:40)"]}]
    assert d["over_time"][0]["period"] == "2024-01-01" and jm.Store  # JSON-ready
    assert result.to_json() and result.to_pandas().shape == (5, 7)


def test_start_end_window_empty_store_and_bad_parameters():
    store = log_store(case_rows(("w1", "a@0 b@100"), ("w2", "b@0")))
    cut = check_conformance(store, {"end": ["b"]}, start=T0, end=T0 + dt.timedelta(seconds=50))
    assert found(cut) == {"w1": [(1, "end 'a' not allowed")], "w2": []}
    empty = check_conformance(jm.connect(":memory:"), {"end": ["b"]})
    assert (empty.cases, empty.fitness, empty.fitness_low) == (0, None, None) and empty.to_json()
    assert empty.throughput["median_difference_seconds"] is None and empty.violations.num_rows == 0
    with pytest.raises(ConfigError, match="period"):
        check_conformance(store, {}, period="year")
    with pytest.raises(ConfigError, match="model parameter"):
        check_conformance(store, 42)
    model = ReferenceModel(end=("b",), object_type="nothing")  # the model's type when none is given
    assert check_conformance(store, model).cases == 0 and check_conformance(store, model, "case").cases == 2
    assert check_conformance(jm.process_view(store), model).cases == 2  # a view's own type
    nothing_known = check_conformance(store, {"edges": [["p", "q"]], "start": ["p"]})  # no model activity in the log
    assert nothing_known.fitting == 0 and nothing_known.violations.column("kind").to_pylist() == ["activity", "activity"]


# --- a brute-force reference on random logs --------------------------------------------------------


def reference(trace: list[tuple[str, float]], model: ReferenceModel) -> list[tuple[float, str]]:
    """Violations of one case (events in case order), position by position in plain Python."""
    acts = [a for a, _ in trace]
    times = [t for _, t in trace]
    out = []
    alphabet = model.alphabet
    known = [alphabet is None or a in alphabet for a in acts]
    out += [(i + 1, f"unknown activity '{a}'") for i, a in enumerate(acts) if not known[i]]
    if model.start is not None and known[0] and acts[0] not in model.start:
        out.append((1, f"start '{acts[0]}' not allowed"))
    if model.end is not None and known[-1] and acts[-1] not in model.end:
        out.append((len(acts), f"end '{acts[-1]}' not allowed"))
    if model.edges is not None:
        out += [(i + 1, f"edge '{acts[i - 1]}' -> '{acts[i]}' not allowed") for i in range(1, len(acts))
                if known[i - 1] and known[i] and (acts[i - 1], acts[i]) not in model.edges]
    for r in dict.fromkeys(model.rules):  # a rule given twice counts once
        if r.type == "precedence":
            out += [(i + 1, r.label) for i, x in enumerate(acts) if x == r.b and r.a not in acts[:i]]
        elif r.type == "response":
            limit = math.inf if r.within_seconds is None else r.within_seconds
            out += [(i + 1, r.label) for i, x in enumerate(acts) if x == r.a and not any(
                acts[j] == r.b and times[j] - times[i] <= limit + 1e-9 for j in range(i + 1, len(acts)))]
        elif r.type == "not_coexist" and r.a in acts and r.b in acts:
            out.append((max(acts.index(r.a), acts.index(r.b)) + 1, r.label))
        elif r.type == "at_most_once":
            out += [(i + 1, r.label) for i, x in enumerate(acts) if x == r.a and r.a in acts[:i]]
        elif r.type == "existence" and r.a not in acts:
            out.append((math.inf, r.label))
        elif r.type == "init" and acts[0] != r.a:
            out.append((1, r.label))
    return sorted(out)


def random_model(rng: random.Random, letters: str) -> ReferenceModel:
    pairs = [p for p in itertools.product(letters, repeat=2)]
    rules = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(RULE_TYPES)
        a, b = rng.sample(letters, 2)
        within = rng.choice([None, 1, 2, 5]) if kind == "response" else None
        rules.append(Rule(kind, a, b if kind in ("precedence", "response", "not_coexist") else None, within))
    return ReferenceModel(
        start=rng.sample(letters, 2) if rng.random() < 0.7 else None, end=rng.sample(letters, 3) if rng.random() < 0.7 else None,
        edges=rng.sample(pairs, 12) if rng.random() < 0.7 else None,
        activities=rng.sample(letters, 2) if rng.random() < 0.3 else None, rules=tuple(rules))


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_checker_equals_the_brute_force_reference(seed):
    rng = random.Random(seed)
    rows = []
    for case in range(150):
        t = 0
        for _ in range(rng.randint(1, 9)):
            t += rng.choice([0, 0, 1, 1, 2, 3])  # many ties: load order decides
            rows.append((f"k{case:03d}", rng.choice("abcdef"), t))
    store = log_store(rows)
    traces: dict[str, list] = {}
    for cid, a, t in sorted(rows, key=lambda r: (r[0], r[2])):  # stable: ties keep load order
        traces.setdefault(cid, []).append((a, t))
    for _ in range(25):
        model = random_model(rng, "abcde")  # f is never in an explicit alphabet
        got = {cid: sorted((math.inf if e is None else e, c) for e, c in v)
               for cid, v in found(check_conformance(store, model)).items()}
        assert got == {cid: reference(tr, model) for cid, tr in traces.items()}, model


# --- peers on real logs ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sepsis/sepsis_cases.xes.gz", "receipt/receipt.xes.gz"])
def real(request):
    """(our store, pm4py's formatted frame) of a bundled log."""
    raw = pm4py.read_xes(f"{DATA}/{request.param}", variant="iterparse", show_progress_bar=False)
    df = pm4py.format_dataframe(raw, case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    store = jm.connect(":memory:")
    jm.read_xes(f"{DATA}/{request.param}", store)
    yield store, df
    store.close()


def test_rules_agree_with_pm4py_declare_conformance_case_by_case(real):
    store, df = real
    top = df[ACTIVITY].value_counts().index[:7].tolist()
    rules, templates = [], {}
    for a, b in itertools.permutations(top, 2):
        for ours, theirs in (("precedence", "precedence"), ("response", "response"), ("not_coexist", "noncoexistence")):
            if ours != "not_coexist" or a < b:
                rules.append(Rule(ours, a, b))
                templates.setdefault(theirs, {})[(a, b)] = {"support": 1.0, "confidence": 1.0}
    for a in top:
        rules += [Rule("existence", a), Rule("init", a), Rule("at_most_once", a)]
        for theirs in ("existence", "init", "exactly_one", "absence"):
            templates.setdefault(theirs, {})[a] = {"support": 1.0, "confidence": 1.0}
    result = check_conformance(store, ReferenceModel(rules=tuple(rules)))
    ours = {r["case_id"]: {v["constraint"] for v in r["violations"]} for r in result.table.to_pylist()}
    ids = list(df[CASE].unique())
    traces = df.groupby(CASE, sort=False)[ACTIVITY].agg(list).loc[ids].tolist()
    theirs = {cid: {(d[0], d[1] if isinstance(d[1], str) else tuple(d[1])) for d in r["deviations"]}
              for cid, r in zip(ids, apply_list(traces, templates))}
    name = {"precedence": "precedence", "response": "response", "not_coexist": "noncoexistence",
            "existence": "existence", "init": "init"}
    differences, outcomes = [], set()
    for r in rules:
        for cid in ids:
            mine = r.label not in ours[cid]
            outcomes.add((r.type, mine))
            if r.type == "at_most_once":  # pm4py has no "at most once": exactly_one or absence
                peer = ("exactly_one", r.a) not in theirs[cid] or ("absence", r.a) not in theirs[cid]
            else:
                peer = (name[r.type], r.a if r.b is None else (r.a, r.b)) not in theirs[cid]
            if mine != peer:
                differences.append((cid, r.label, mine, peer))
    assert not differences[:10] and len(ids) == result.cases
    assert outcomes == {(t, ok) for t in RULE_TYPES for ok in (True, False)}  # every rule type passed and failed


def test_derived_dfg_model_agrees_with_a_pandas_footprint(real):
    store, df = real
    model = derive_model(store, top_variants=5)
    result = check_conformance(store, model)
    nxt = df.groupby(CASE, sort=False)[ACTIVITY].shift(-1)
    pairs = set(model.edges)
    bad_edge = [(a, b) not in pairs for a, b in zip(df[ACTIVITY], nxt) if isinstance(b, str)]
    cases = df[CASE][nxt.notna()]
    edge_ok = ~pd.Series(bad_edge, index=cases.index).groupby(cases).any()
    g = df.groupby(CASE, sort=False)[ACTIVITY]
    fits = (g.first().isin(model.start) & g.last().isin(model.end) & g.agg(lambda s: s.isin(model.activities).all())
            & edge_ok.reindex(g.first().index, fill_value=True))
    ours = dict(zip(result.table.column("case_id").to_pylist(), result.table.column("fits").to_pylist()))
    assert ours == fits.to_dict() and 0 < result.fitting < result.cases
    top = set(jm.variants(store, top=5).counts())
    in_top = [tuple(v) in top for v in g.agg(list)]
    assert fits[in_top].all() and sum(in_top) < result.fitting  # top variants fit, and some other cases too


# --- the statistics -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [7, 10])
def test_bootstrap_medians_follow_the_exact_bootstrap_distribution(n):
    values = np.sort(np.random.default_rng(1).gamma(2.0, 3.0, n))
    draws = bootstrap_medians(values, 200_000, np.random.default_rng(2))
    if n % 2:  # P(median* <= x_(j)) = P(Binomial(n, j/n) >= (n+1)/2)
        exact = [scipy.stats.binom.sf((n + 1) // 2 - 1, n, j / n) for j in range(1, n + 1)]
        got = [(draws <= v).mean() for v in values]
        assert np.allclose(got, exact, atol=0.005)
    brute = np.median(values[np.random.default_rng(3).integers(0, n, (200_000, n))], axis=1)
    assert np.allclose(np.percentile(draws, [2.5, 25, 50, 75, 97.5]), np.percentile(brute, [2.5, 25, 50, 75, 97.5]),
                       atol=0.05 * values.std())


def test_mann_whitney_equals_scipy_with_ties():
    rng = np.random.default_rng(4)
    for _ in range(20):
        x, y = rng.integers(0, 8, rng.integers(1, 40)).astype(float), rng.integers(0, 10, rng.integers(1, 40)).astype(float)
        expected = scipy.stats.mannwhitneyu(x, y, method="asymptotic").pvalue
        got = mann_whitney_p(x, y)
        assert (got is None and math.isnan(expected)) or got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert mann_whitney_p(np.ones(3), np.ones(4)) is None and mann_whitney_p(np.ones(3), np.zeros(0)) is None
