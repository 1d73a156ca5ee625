"""Process mining benchmark: DFG + variants + case durations, journeymine against pm4py, side by side.

    python benchmarks/bench_process.py                      # Road Traffic Fines and the 10 M-event log
    python benchmarks/bench_process.py --logs rtf --repeats 3

Inputs:
- ``rtf``: Road Traffic Fine Management (data/road-traffic-fines, 561,470 events, 150,370 cases),
  imported once into a journeymine store (cached in ``benchmarks/.data/``); pm4py reads the same
  XES file with ``pm4py.read_xes`` (into a DataFrame; reading is not timed for either tool);
- ``gen``: the seeded 10,000,000-event, 500,000-customer log of ``bench_funnel.py`` (run that first; its
  cached store and Parquet file are reused), one case per customer; pm4py gets the same rows as a
  pandas DataFrame formatted with ``pm4py.format_dataframe``.

Timed, each tool in a fresh process, ``--warmup`` untimed calls then ``--repeats`` timed ones (median):
``pm4py.discover_dfg`` + ``pm4py.get_variants`` + ``pm4py.get_all_case_durations`` on its DataFrame
in memory against ``jm.process_view`` (reading the cases from the DuckDB store file: included in the
time) + ``jm.discover_dfg`` + ``jm.variants`` + ``jm.case_durations`` on that view (journeymine's DFG
also computes case counts and waiting times per edge). Checks that the DFG edge counts, start/end activity counts, the
number of variants and the sorted case durations agree; a mismatch fails the run (exit code 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
RTF = ROOT / "data" / "road-traffic-fines" / "Road_Traffic_Fine_Management_Process.xes.gz"

COMMON = """
import json, sys, time, statistics, warnings
warnings.filterwarnings("ignore")
repeats, warmup = int(sys.argv[2]), int(sys.argv[3])
def timed(call):
    times, result = [], None
    for i in range(warmup + repeats):
        t = time.perf_counter()
        result = call()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return times, result
"""

JOURNEYMINE = COMMON + """
import journeymine as jm
store = jm.connect(sys.argv[1], read_only=True)
kind = sys.argv[4]
def work():  # one process view (read from the store file), then the three analyses on it
    view = jm.process_view(store, kind)
    return jm.discover_dfg(view), jm.variants(view), jm.case_durations(view)
times, (dfg, var, dur) = timed(work)
print(json.dumps({"times": times, "edges": {f"{e['source']}|{e['target']}": e["count"] for e in dfg.edges.to_pylist()},
                  "start": dfg.start, "end": dfg.end, "variants": var.total_variants,
                  "durations": sorted(dur.table.column("duration_seconds").to_pylist())[::997]}))
"""

PM4PY = COMMON + """
import pm4py, pandas as pd, pyarrow.parquet as pq
source = sys.argv[1]
if source.endswith(".parquet"):
    t = pq.read_table(source).to_pandas()
    df = pd.DataFrame({"case:concept:name": t["user"].astype(str), "concept:name": t["event"],
                       "time:timestamp": pd.to_datetime(t["ts"].astype("int64"), unit="us", utc=True)})
    df = pm4py.format_dataframe(df, case_id="case:concept:name", activity_key="concept:name",
                                timestamp_key="time:timestamp")
else:
    df = pm4py.read_xes(source)
def work():
    return pm4py.discover_dfg(df), pm4py.get_variants(df), pm4py.get_all_case_durations(df)
times, ((dfg, start, end), var, dur) = timed(work)
print(json.dumps({"times": times, "edges": {f"{a}|{b}": int(n) for (a, b), n in dfg.items()},
                  "start": {k: int(v) for k, v in start.items()}, "end": {k: int(v) for k, v in end.items()},
                  "variants": len(var), "durations": sorted(float(x) for x in dur)[::997]}))
"""


def run(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode:
        raise SystemExit(f"benchmark subprocess failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rtf_store() -> Path:
    import journeymine as jm

    DATA.mkdir(exist_ok=True)
    path = DATA / "rtf.duckdb"
    if not path.exists():
        with jm.connect(path) as store:
            jm.read_xes(RTF, store)
    return path


def generated() -> tuple[Path, Path]:
    stores = sorted(DATA.glob("funnel_c500000_e10000000_*.duckdb"))
    if not stores:
        raise SystemExit("run benchmarks/bench_funnel.py first (its 10 M-event log is reused here)")
    return stores[-1], stores[-1].with_suffix(".parquet")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--logs", nargs="+", choices=["rtf", "gen"], default=["rtf", "gen"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    failed = False
    print(f"{'log':6} {'tool':12} {'median s':>9}  runs")
    for log in args.logs:
        if log == "rtf":
            store, source, kind = rtf_store(), RTF, "case"
        else:
            (store, source), kind = generated(), "customer"
        jm_res = run(JOURNEYMINE, str(store), str(args.repeats), str(args.warmup), kind)
        pm_res = run(PM4PY, str(source), str(args.repeats), str(args.warmup))
        for tool, res in (("journeymine", jm_res), ("pm4py", pm_res)):
            print(f"{log:6} {tool:12} {statistics.median(res['times']):9.3f}  "
                  + " ".join(f"{t:.3f}" for t in res["times"]))
        ratio = statistics.median(pm_res["times"]) / statistics.median(jm_res["times"])
        same = all(jm_res[k] == pm_res[k] for k in ("edges", "start", "end", "variants")) and all(
            abs(a - b) < 1e-6 for a, b in zip(jm_res["durations"], pm_res["durations"]))
        failed |= not same
        print(f"{log:6} ratio pm4py / journeymine: {ratio:.1f}x; results equal: {'yes' if same else 'NO'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
