"""XES import benchmark: journeymine against pm4py (with and without rustxes) and rustxes, in one run.

Every tool runs in its own fresh Python process that imports it once and then times ``--repeats`` calls
(median reported), so import time, caches and memory of one tool do not affect another:

- ``journeymine``: ``read_xes(log, store)`` into a new DuckDB *file* store per repeat (the call only;
  ``+open/close`` adds connecting a new file and closing it, which checkpoints the data to disk);
- ``pm4py``: ``pm4py.read_xes(log)`` with rustxes made unimportable (``sys.modules["rustxes"] = None``:
  pm4py asks ``importlib.util.find_spec``, which then answers None, and falls back to its own parser);
- ``pm4py+rustxes``: ``pm4py.read_xes(log)`` with rustxes importable (pm4py then calls
  ``rustxes.import_xes`` and converts the result to pandas);
- ``rustxes``: ``rustxes.import_xes(log)`` alone (a polars DataFrame, nothing stored).

It also compares the size of the store with the same data as Parquet: the DuckDB file's bytes per event
against ``event`` + ``event_object`` (and, separately, ``object``) written from ``Store.scan`` with
pyarrow, zstd.

pm4py is AGPL: it is used here only, in a subprocess, never by journeymine or its tests.

    python benchmarks/bench_import.py                       # both logs, 3 repeats
    python benchmarks/bench_import.py --logs bpic2012 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGS = {
    "bpic2012": ROOT / "data/bpic2012/bpic2012.xes.gz",
    "rtf": ROOT / "data/road-traffic-fines/Road_Traffic_Fine_Management_Process.xes.gz",
}
NAMES = {"bpic2012": "BPIC 2012", "rtf": "Road Traffic Fines"}

JOURNEYMINE = """
import json, sys, tempfile, time
from pathlib import Path
import pyarrow.parquet as pq
import journeymine as jm
from journeymine.ingest._xes import read_xes
log, repeats = sys.argv[1], int(sys.argv[2])
calls, whole, tmp = [], [], Path(tempfile.mkdtemp())
for r in range(repeats):
    path = tmp / f"store{r}.duckdb"
    t0 = time.perf_counter()
    store = jm.connect(path)
    t1 = time.perf_counter()
    report = read_xes(log, store)
    t2 = time.perf_counter()
    if r < repeats - 1:
        store.close()
    whole.append(time.perf_counter() - t0)
    calls.append(t2 - t1)
sizes = {}
for table in ("event", "event_object", "object"):
    pq.write_table(__import__("pyarrow").Table.from_batches(list(store.scan(table))), tmp / f"{table}.parquet",
                   compression="zstd")
    sizes[table] = (tmp / f"{table}.parquet").stat().st_size
store.close()
sizes["duckdb"] = path.stat().st_size
print(json.dumps({"times": calls, "whole": whole, "events": report.events_imported, "sizes": sizes}))
"""

PM4PY = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
log, repeats, block = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "block"
if block:  # pm4py looks rustxes (and its successor r4pm) up with importlib.util.find_spec: None means absent
    sys.modules["rustxes"] = None
    sys.modules["r4pm"] = None
import pm4py
from pm4py.util import constants
from pm4py.util.rustxes_utils import get_rustxes_backend_name
constants.SHOW_PROGRESS_BAR = False
backend = get_rustxes_backend_name()
assert (backend is None) == block, backend
times = []
for _ in range(repeats):
    t = time.perf_counter()
    frame = pm4py.read_xes(log)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "events": len(frame), "backend": backend or "pm4py"}))
"""

RUSTXES = """
import json, sys, time
import rustxes
log, repeats = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(repeats):
    t = time.perf_counter()
    frame, _ = rustxes.import_xes(log)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "events": frame.height}))
"""


def run(code: str, *args: str) -> dict:
    """Run one tool in a fresh interpreter; its last stdout line is the JSON result."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode:
        raise SystemExit(f"benchmark subprocess failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for pkg in ("journeymine", "duckdb", "pyarrow", "polars", "numpy", "isal", "rustxes", "pm4py"):
        try:
            found.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            found.append(f"{pkg} (not installed)")
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", nargs="+", choices=sorted(LOGS), default=["bpic2012", "rtf"])
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"packages: {versions()}")
    print(f"median of {opts.repeats} runs each, seconds; ratio = journeymine / fastest of the three peers\n")
    rows, raw = [], {}
    for name in opts.logs:
        log, n = str(LOGS[name]), str(opts.repeats)
        results = {
            "journeymine": run(JOURNEYMINE, log, n),
            "pm4py": run(PM4PY, log, n, "block"),
            "pm4py+rustxes": run(PM4PY, log, n, "allow"),
            "rustxes": run(RUSTXES, log, n),
        }
        med = {tool: statistics.median(r["times"]) for tool, r in results.items()}
        raw[name] = {tool: r["times"] for tool, r in results.items()}
        jm_res = results["journeymine"]
        peers = {k: v for k, v in med.items() if k != "journeymine"}
        fastest = min(peers, key=peers.get)
        events = jm_res["events"]
        assert all(r["events"] == events for r in results.values()), {k: r["events"] for k, r in results.items()}
        sizes = jm_res["sizes"]
        rows.append((name, med, statistics.median(jm_res["whole"]), fastest, events, sizes))
    print(f"{'log':<20}{'events':>9}{'journeymine':>13}{'+open/close':>13}{'pm4py':>9}{'pm4py+rustxes':>15}"
          f"{'rustxes':>9}{'fastest peer':>15}{'ratio':>7}")
    for name, med, whole, fastest, events, _ in rows:
        print(f"{NAMES[name]:<20}{events:>9,}{med['journeymine']:>13.2f}{whole:>13.2f}{med['pm4py']:>9.2f}"
              f"{med['pm4py+rustxes']:>15.2f}{med['rustxes']:>9.2f}{fastest:>15}"
              f"{med['journeymine'] / med[fastest]:>7.2f}")
    print(f"\n{'log':<20}{'DuckDB file':>14}{'B/event':>9}{'Parquet event+links':>21}{'B/event':>9}"
          f"{'Parquet objects':>17}{'DuckDB / Parquet':>18}")
    for name, _, _, _, events, sizes in rows:
        pq = sizes["event"] + sizes["event_object"]
        print(f"{NAMES[name]:<20}{sizes['duckdb'] / 1e6:>12.1f}MB{sizes['duckdb'] / events:>9.0f}"
              f"{pq / 1e6:>19.1f}MB{pq / events:>9.0f}{sizes['object'] / 1e6:>15.1f}MB"
              f"{sizes['duckdb'] / (pq + sizes['object']):>18.2f}")
    print(textwrap.dedent("""
        DuckDB file: the whole store (events, objects, links, the seq projection, event types, the run).
        Parquet: event + event_object (objects separately), zstd, from Store.scan via pyarrow."""))
    print("every run, seconds:")
    for name, med, *_ in rows:
        print(f"  {NAMES[name]}: " + "; ".join(f"{tool} {' '.join(f'{t:.2f}' for t in times)}"
                                               for tool, times in raw[name].items()))


if __name__ == "__main__":
    main()
