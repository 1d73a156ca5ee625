"""Bundled real logs, each read once per test session by journeymine and by pm4py (the oracle).

``real_log`` is a session fixture parametrised over :data:`LOGS`: pytest groups the tests by log and
finalises one log before it builds the next, so only one log's store and pm4py frame live at a time.
pm4py's answers (DFG with start and end activities, variants, case durations) and a few facts about
the log (ties, lifecycle values, file order) are computed once when the log is built; the pm4py frame
is dropped afterwards. Our side is the store: the tests call journeymine's API on it.

pm4py is read with its own XES parser (``variant="iterparse"``), not with whatever backend
``pm4py.read_xes`` would pick (rustxes when installed), and every frame goes through
``pm4py.format_dataframe``; see the docstring of ``test_pm4py_equality.py`` for why.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd
import pm4py  # test-only dependency: a missing pm4py fails collection instead of skipping
import pytest

import journeymine as jm

DATA = Path(__file__).resolve().parents[2] / "data"

CASE, ACTIVITY, TIME = "case:concept:name", "concept:name", "time:timestamp"


@dataclasses.dataclass(frozen=True)
class Log:
    name: str
    path: str  # under data/
    kind: str  # "xes" or "csv"


LOGS = [
    Log("running-example-xes", "running-example/running-example.xes", "xes"),
    Log("running-example-csv", "running-example/running-example.csv", "csv"),
    Log("receipt", "receipt/receipt.xes.gz", "xes"),
    Log("sepsis", "sepsis/sepsis_cases.xes.gz", "xes"),
    Log("helpdesk", "helpdesk/helpdesk.xes.gz", "xes"),
    Log("bpic2013-closed-problems", "bpic2013-closed-problems/bpic2013_closed_problems.xes.gz", "xes"),
    Log("bpic2013-incidents", "bpic2013-incidents/bpic2013_incidents.xes.gz", "xes"),
    Log("bpic2012", "bpic2012/bpic2012.xes.gz", "xes"),
    Log("road-traffic-fines-100", "road-traffic-fines/roadtraffic100traces.xes", "xes"),
    Log("road-traffic-fines", "road-traffic-fines/Road_Traffic_Fine_Management_Process.xes.gz", "xes"),
]


@dataclasses.dataclass
class Pm4pyAnswers:
    """What pm4py says about one log (plain Python values, the frame itself is not kept)."""

    dfg: dict[tuple[str, str], int]
    start: dict[str, int]
    end: dict[str, int]
    variants: dict[tuple[str, ...], int]
    durations: list[float]  # sorted, seconds
    events: int
    cases: int
    out_of_order: int  # events earlier than the event before them in the same case, in file order
    tie_cases: int  # cases with two adjacent events of equal time and different activities
    lifecycle: dict[str, int]  # lifecycle:transition values (empty when the log has none)
    service: dict[str, list[float]]  # service times (s) of start/complete pairs per activity, from to_interval


@dataclasses.dataclass
class RealLog:
    log: Log
    store: jm.Store
    pm4py: Pm4pyAnswers
    seconds: dict[str, float]  # time spent: "pm4py" (read and answers), "journeymine" (import)


def pm4py_frame(log: Log) -> pd.DataFrame:
    """The log as pm4py reads it, in file order (before ``format_dataframe``)."""
    path = str(DATA / log.path)
    if log.kind == "xes":
        return pm4py.read_xes(path, variant="iterparse", show_progress_bar=False)
    return pd.read_csv(path, dtype={CASE: str})


def pm4py_answers(raw: pd.DataFrame) -> Pm4pyAnswers:
    same_case = raw[CASE].eq(raw[CASE].shift())
    out_of_order = int((same_case & (raw[TIME] < raw[TIME].shift())).sum())
    df = pm4py.format_dataframe(raw, case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    same_case = df[CASE].eq(df[CASE].shift())
    tie = same_case & df[TIME].eq(df[TIME].shift()) & df[ACTIVITY].ne(df[ACTIVITY].shift())
    lifecycle = df["lifecycle:transition"].value_counts().to_dict() if "lifecycle:transition" in df else {}
    # (before the calls below: the frame they leave behind converts to an event log without lifecycle pairs)
    service = service_times(df) if any(str(k).lower() == "start" for k in lifecycle) else {}
    dfg, start, end = pm4py.discover_dfg(df, case_id_key=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    variants = pm4py.get_variants(df, case_id_key=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    durations = pm4py.get_all_case_durations(df, case_id_key=CASE, activity_key=ACTIVITY, timestamp_key=TIME)
    return Pm4pyAnswers(
        dfg={(str(a), str(b)): int(n) for (a, b), n in dfg.items()},
        start={str(a): int(n) for a, n in start.items()}, end={str(a): int(n) for a, n in end.items()},
        variants={tuple(map(str, v)): int(n) for v, n in variants.items()},
        durations=sorted(float(d) for d in durations),
        events=len(df), cases=int(df[CASE].nunique()), out_of_order=out_of_order,
        tie_cases=int(df.loc[tie, CASE].nunique()), lifecycle={str(k): int(v) for k, v in lifecycle.items()},
        service=service)


def service_times(df: pd.DataFrame) -> dict[str, list[float]]:
    """pm4py's lifecycle pairing (``interval_lifecycle.to_interval``): the durations of the intervals
    that have a start event (a lone complete becomes an interval of 0 s, which is not a service time)."""
    from pm4py.objects.log.util import interval_lifecycle

    out: dict[str, list[float]] = {}
    for trace in interval_lifecycle.to_interval(pm4py.convert_to_event_log(df)):
        for event in trace:
            if "@@startevent_" + ACTIVITY in event:
                out.setdefault(str(event[ACTIVITY]), []).append(float(event["@@duration"]))
    return out


def import_ours(log: Log, store: jm.Store) -> jm.ImportReport:
    path = DATA / log.path
    if log.kind == "xes":
        return jm.read_xes(path, store)
    return jm.read_csv(path, store, activity_col=ACTIVITY, timestamp_col=TIME, case_col=CASE,
                       attribute_cols=["org:resource", "Costs"])


@pytest.fixture(scope="session", params=LOGS, ids=[log.name for log in LOGS])
def real_log(request):
    log: Log = request.param
    t0 = time.perf_counter()
    answers = pm4py_answers(pm4py_frame(log))
    t1 = time.perf_counter()
    with jm.connect(":memory:") as store:
        report = import_ours(log, store)
        t2 = time.perf_counter()
        assert report.refused == 0 and report.events_imported == answers.events, report
        yield RealLog(log, store, answers, {"pm4py": t1 - t0, "journeymine": t2 - t1})

