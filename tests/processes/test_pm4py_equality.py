"""jm.discover_dfg, jm.variants, jm.case_durations (and lifecycle service times) equal pm4py on every bundled log.

For each log (fixture ``real_log`` in ``conftest.py``: read once per session by both) we compare
``pm4py.discover_dfg`` (edge frequencies, start and end activities), ``pm4py.get_variants``
(variant tuple -> cases) and ``pm4py.get_all_case_durations`` (sorted, 1e-6 s tolerance) with ours.

pm4py's conventions (pm4py 2.7.23, checked on the hand-made log in ``test_pm4py_conventions`` and
on the bundled logs in ``test_what_each_log_has``), and how the comparison deals with each:

- **Event order and ties.** ``pm4py.format_dataframe`` sorts by case, timestamp and the row's
  position in the frame, so events with equal timestamps keep the file order: the same rule as our
  store (time, then load order). ``pm4py.discover_dfg`` also sorts (a stable multi-column sort) before
  it pairs rows. Logs whose cases have simultaneous events of different activities: sepsis, helpdesk,
  bpic2012, road-traffic-fines (and its 100-trace sample) -- on those the equality below checks the
  tie order too (swapping two adjacent events of different activities changes that case's variant),
  the others have no such ties.
- **pm4py does not sort an unformatted frame everywhere.** On the frame ``pm4py.read_xes`` returns
  (file order, no ``format_dataframe``), start and end activities, variants and case durations follow
  the file order (a case whose events are written out of time order gets a negative duration), while
  the DFG is sorted by time. The legacy ``EventLog`` object is never sorted. We therefore compare with
  the formatted frame, pm4py's documented preparation step, and assert that no bundled log has an event
  written before an earlier one of its case (so on these logs the raw frame gives the same answers).
- **Lifecycle.** Neither side filters by ``lifecycle:transition``: pm4py's ``read_xes`` keeps every
  event and its DFG, variants and durations use ``concept:name`` alone, as our store does. bpic2012
  (SCHEDULE/START/COMPLETE) is compared on all 262,200 events; the bpic2013 logs carry sub-statuses
  in that key (In Progress, Awaiting Assignment, ...), receipt, sepsis and road traffic fines only
  ``complete``. So no filter is needed to make the two sides comparable.
- **Time zones.** pm4py's parser applies the offset of every XES/CSV timestamp and yields UTC
  (``datetime64[us, UTC]``); our store keeps naive UTC. The bundled logs mix ``+01:00`` and ``+02:00``
  (daylight saving time), so a reader that dropped offsets would get wrong durations; both apply them.
  Both keep microseconds (bpic2012 has milliseconds).
- **Parser.** With rustxes installed, ``pm4py.read_xes`` picks rustxes by default (and warns); we ask
  for pm4py's own parser (``variant="iterparse"``) so the oracle does not depend on optional packages.
  (Checked once by hand: pm4py with rustxes gives the same answers on every bundled log.)
- **Case ids.** pm4py groups by the case id string; no bundled XES log has two traces with the same
  name (our store would merge them into one object, pm4py into one case as well).
- **CSV.** running-example.csv is read with pandas (case ids as strings) and ``format_dataframe``;
  its timestamps carry ``+01:00``, applied on both sides.

No log differs: every comparison holds exactly (durations to 1e-6 s).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pm4py

import journeymine as jm

CASE, ACTIVITY, TIME = "case:concept:name", "concept:name", "time:timestamp"


# --- the comparisons: each returns the differences found (empty list: equal) ------------------------


def dict_differences(ours: dict, theirs: dict, what: str) -> list[str]:
    keys = sorted(set(ours) | set(theirs), key=repr)
    return [f"{what} {k!r}: journeymine {ours.get(k)} != pm4py {theirs.get(k)}"
            for k in keys if ours.get(k) != theirs.get(k)]


def duration_differences(ours: list[float], theirs: list[float], tolerance: float = 1e-6) -> list[str]:
    if len(ours) != len(theirs):
        return [f"case durations: journeymine has {len(ours)} cases, pm4py {len(theirs)}"]
    a, b = np.sort(np.asarray(ours, float)), np.sort(np.asarray(theirs, float))
    bad = np.flatnonzero(~(np.abs(a - b) <= tolerance))
    return [f"sorted case duration #{i}: journeymine {a[i]} s != pm4py {b[i]} s" for i in bad[:10]] + (
        [f"... and {bad.size - 10} more"] if bad.size > 10 else [])


def our_dfg(store: jm.Store) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
    d = jm.discover_dfg(store, "case")
    edges: dict[tuple[str, str], int] = {}
    for s, t, n in zip(d.edges.column("source").to_pylist(), d.edges.column("target").to_pylist(),
                       d.edges.column("count").to_pylist()):
        assert (s, t) not in edges, f"edge {s} -> {t} listed twice"
        edges[(s, t)] = int(n)
    return edges, {a: int(n) for a, n in d.start.items()}, {a: int(n) for a, n in d.end.items()}


def our_variants(store: jm.Store) -> dict[tuple[str, ...], int]:
    t = jm.variants(store, "case").table
    cases = t.column("cases").to_pylist()
    assert cases == sorted(cases, reverse=True), "variants are not sorted by cases, descending"
    counts: dict[tuple[str, ...], int] = {}
    for v, n in zip(t.column("variant").to_pylist(), cases):
        assert tuple(v) not in counts, f"variant {v} listed twice"
        counts[tuple(v)] = int(n)
    return counts


def our_durations(store: jm.Store) -> list[float]:
    return jm.case_durations(store, "case").table.column("duration_seconds").to_pylist()


# --- equality on every bundled log --------------------------------------------------------------------


def test_dfg_start_and_end_activities_equal_pm4py(real_log):
    edges, start, end = our_dfg(real_log.store)
    theirs = real_log.pm4py
    assert dict_differences(edges, theirs.dfg, "edge") == []
    assert dict_differences(start, theirs.start, "start activity") == []
    assert dict_differences(end, theirs.end, "end activity") == []
    # every event is counted: n events in a case make n - 1 directly-follows pairs (no lifecycle filter)
    assert sum(theirs.dfg.values()) == sum(edges.values()) == theirs.events - theirs.cases
    assert sum(start.values()) == sum(end.values()) == theirs.cases


def test_variants_equal_pm4py(real_log):
    ours = our_variants(real_log.store)
    assert dict_differences(ours, real_log.pm4py.variants, "variant") == []
    assert sum(ours.values()) == real_log.pm4py.cases


def test_case_durations_equal_pm4py(real_log):
    assert duration_differences(our_durations(real_log.store), real_log.pm4py.durations) == []


def service_differences(report: jm.Bottlenecks, theirs: dict[str, list[float]]) -> list[str]:
    """Activities whose paired start/complete count or mean service time differs (1e-6 s)."""
    ours = {r["activity"]: r for r in report.activities.to_pylist() if r["service_mean_seconds"] is not None}
    out = [f"{a}: only in {side}" for a, side in [(a, "ours") for a in set(ours) - set(theirs)]
           + [(a, "pm4py") for a in set(theirs) - set(ours)]]
    for a in sorted(set(ours) & set(theirs)):
        mean = float(np.mean(theirs[a]))
        if abs(ours[a]["service_mean_seconds"] - mean) > 1e-6:
            out.append(f"{a}: mean service {ours[a]['service_mean_seconds']} != {mean}")
        if abs(ours[a]["service_median_seconds"] - float(np.median(theirs[a]))) > 1e-6:
            out.append(f"{a}: median service differs")
    return out


def test_service_times_equal_pm4py_lifecycle_pairing(real_log):
    """Where a log has lifecycle start events (bpic2012), jm.bottlenecks pairs start and complete as
    pm4py's ``interval_lifecycle.to_interval`` does: the same pairs, so the same service times."""
    report = jm.bottlenecks(real_log.store)
    assert report.lifecycle == bool(real_log.pm4py.service)
    assert service_differences(report, real_log.pm4py.service) == []
    if real_log.pm4py.service:  # and the comparison can fail: drop one pair of one activity
        a = sorted(real_log.pm4py.service)[0]
        assert service_differences(report, {**real_log.pm4py.service, a: real_log.pm4py.service[a][1:]}) != []


# (events, cases, cases with simultaneous events of different activities, lifecycle values)
FACTS = {
    "running-example-xes": (42, 6, 0, set()),
    "running-example-csv": (42, 6, 0, set()),
    "receipt": (8_577, 1_434, 0, {"complete"}),
    "sepsis": (15_214, 1_050, 1_006, {"complete"}),
    "helpdesk": (21_348, 4_580, 3, set()),
    "bpic2013-closed-problems": (6_660, 1_487, 0, {"In Progress", "Closed", "Awaiting Assignment", "Assigned",
                                                   "Wait", "Unmatched", "Cancelled"}),
    "bpic2013-incidents": (65_533, 7_554, 0, {
        "In Progress", "Awaiting Assignment", "Resolved", "Closed", "Wait - User", "Assigned", "In Call", "Wait",
        "Wait - Implementation", "Wait - Vendor", "Wait - Customer", "Unmatched", "Cancelled"}),
    "bpic2012": (262_200, 13_087, 5_006, {"SCHEDULE", "START", "COMPLETE"}),
    "road-traffic-fines-100": (390, 100, 8, {"complete"}),
    "road-traffic-fines": (561_470, 150_370, 9_137, {"complete"}),
}


def test_what_each_log_has(real_log):
    """Pins what makes each comparison meaningful: sizes, ties in time, lifecycle values, file order."""
    p = real_log.pm4py
    events, cases, tie_cases, lifecycle = FACTS[real_log.log.name]
    assert (p.events, p.cases, p.tie_cases, set(p.lifecycle)) == (events, cases, tie_cases, lifecycle)
    assert p.out_of_order == 0  # every case is written in time order: pm4py's raw frame would agree too
    assert real_log.store.process_view("case").num_rows == events


def test_the_comparison_detects_a_difference(real_log):
    """Each comparison fails when one number is changed (so an empty difference list means something)."""
    p = real_log.pm4py
    edge = next(iter(p.dfg))
    assert dict_differences({**p.dfg, edge: p.dfg[edge] + 1}, p.dfg, "edge") != []
    assert dict_differences({k: n for k, n in p.dfg.items() if k != edge}, p.dfg, "edge") != []
    first = next(iter(p.start))
    assert dict_differences({**p.start, first: p.start[first] - 1}, p.start, "start activity") != []
    variant = next(iter(p.variants))
    moved = {**p.variants, variant: p.variants[variant] - 1, variant + ("x",): 1}
    assert dict_differences(moved, p.variants, "variant") != []
    durations = list(p.durations)
    durations[-1] += 2e-6
    assert duration_differences(durations, p.durations) != []
    assert duration_differences(durations[:-1], p.durations) != []
    assert duration_differences([*p.durations[:-1], float("nan")], p.durations) != []
    assert duration_differences(list(p.durations), p.durations) == []


# --- pm4py's conventions, on a hand-made log ---------------------------------------------------------

TIES_XES = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
<trace><string key="concept:name" value="c1"/>
<event><string key="concept:name" value="x"/><date key="time:timestamp" value="2024-01-01T10:00:00+00:00"/></event>
<event><string key="concept:name" value="b"/><date key="time:timestamp" value="2024-01-01T10:00:00+00:00"/></event>
<event><string key="concept:name" value="a"/><date key="time:timestamp" value="2024-01-01T10:00:00+00:00"/></event>
<event><string key="concept:name" value="z"/><date key="time:timestamp" value="2024-01-01T12:00:00+02:00"/></event>
<event><string key="concept:name" value="y"/><string key="lifecycle:transition" value="start"/>
<date key="time:timestamp" value="2024-01-01T10:30:00Z"/></event>
</trace>
<trace><string key="concept:name" value="c2"/>
<event><string key="concept:name" value="late"/><date key="time:timestamp" value="2024-01-01T11:00:00+00:00"/></event>
<event><string key="concept:name" value="early"/><date key="time:timestamp" value="2024-01-01T09:00:00+00:00"/></event>
<event><string key="concept:name" value="mid"/><date key="time:timestamp" value="2024-01-01T10:00:00+00:00"/></event>
</trace>
</log>
"""


def test_pm4py_conventions(tmp_path):
    """Ties keep file order after format_dataframe; offsets are applied; lifecycle is not filtered;
    without format_dataframe pm4py's answers other than the DFG follow the file order."""
    path = tmp_path / "ties.xes"
    path.write_text(TIES_XES, encoding="utf-8")
    raw = pm4py.read_xes(str(path), variant="iterparse", show_progress_bar=False)
    assert str(raw[TIME].dtype) == "datetime64[us, UTC]"
    # 12:00+02:00 is 10:00 UTC: a tie with x, b, a; y (lifecycle start) is kept
    df = pm4py.format_dataframe(raw.copy(), case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    assert {c: list(g) for c, g in df.groupby(CASE, sort=True)[ACTIVITY]} == {
        "c1": ["x", "b", "a", "z", "y"], "c2": ["early", "mid", "late"]}
    dfg, start, end = pm4py.discover_dfg(df)
    assert (start, end) == ({"x": 1, "early": 1}, {"y": 1, "late": 1})
    assert pm4py.get_all_case_durations(df) == [1800.0, 7200.0]

    _, raw_start, raw_end = pm4py.discover_dfg(raw)  # not formatted: file order, not time order
    assert (raw_start, raw_end) == ({"x": 1, "late": 1}, {"y": 1, "mid": 1})
    assert set(pm4py.get_variants(raw)) == {("x", "b", "a", "z", "y"), ("late", "early", "mid")}
    assert pm4py.get_all_case_durations(raw) == [-3600.0, 1800.0]  # last minus first event in the file
    assert pm4py.discover_dfg(raw)[0] == dfg  # the DFG sorts by time itself

    with jm.connect(":memory:") as store:  # ours: the formatted answers
        jm.read_xes(path, store)
        assert our_dfg(store) == (dfg, start, end)
        assert our_variants(store) == pm4py.get_variants(df)
        assert sorted(our_durations(store)) == [1800.0, 7200.0]
        assert store.process_view("case").column("time").to_pylist()[:4] == [dt.datetime(2024, 1, 1, 10)] * 4


def test_pm4py_reads_the_csv_offsets_as_utc(data_dir):
    raw = pd.read_csv(data_dir / "running-example/running-example.csv", dtype={CASE: str})
    assert raw[TIME].iloc[0] == "2010-12-30 14:32:00+01:00"
    df = pm4py.format_dataframe(raw, case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    first = df.loc[df[CASE] == "3", TIME].min()
    assert first == pd.Timestamp("2010-12-30 13:32:00", tz="UTC")
