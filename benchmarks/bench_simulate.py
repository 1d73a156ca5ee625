"""Simulator at scale: ``jm.simulate`` of N customers over 90 days into a fresh DuckDB file.

    python benchmarks/bench_simulate.py                                  # 100,000 customers, 3 runs
    python benchmarks/bench_simulate.py --customers 100000 1000000       # 3 runs of 100k, 1 run of 1M

Every run is a fresh Python process (so the peak memory reported is that run's alone). It makes a new
DuckDB file in a temporary directory, ``store = jm.connect(path)``, and times, wall clock,
``jm.simulate(customers=N, days=90, seed=1, store=store)`` followed by ``store.close()`` (the checkpoint
to disk) — simulating people, sessions, orders, contacts and surveys, both imports and the identity
stitching. Connecting is not timed. Each run reports the seconds, events and links imported, visitors
stitched, the file's size and the process's peak RSS (``ru_maxrss``, which covers the whole process,
including importing journeymine). Prints per size the median and every run, and checks the targets:
100,000 customers in under 60 s, 1,000,000 customers within 24 GiB of peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = {100_000: 60.0}  # customers -> seconds (median)
TARGET_RSS_GIB = {1_000_000: 24.0}  # customers -> peak RSS, GiB

RUN = """
import json, os, resource, sys, time
import journeymine as jm
customers, path = int(sys.argv[1]), sys.argv[2]
store = jm.connect(path)
t0 = time.perf_counter()
sim = jm.simulate(customers=customers, days=90, seed=1, store=store)
store.close()
seconds = time.perf_counter() - t0
size = os.path.getsize(path)
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
print(json.dumps({"seconds": seconds, "events": sim.report.events_imported, "links": sim.report.links_imported,
                  "stitched": sim.stitched, "bytes": size, "rss_gib": rss_kib / 2**20}))
"""


def run(customers: int) -> dict:
    """One simulation in a fresh interpreter; its last stdout line is the JSON result.

    While it runs, the parent reads the child's peak RSS (``VmHWM``) every second, so a run the kernel
    kills for lack of memory is still reported (``killed``, with the last peak seen) instead of aborting.
    """
    with tempfile.TemporaryDirectory() as tmp:  # made and removed here, so a killed run leaves no file
        proc = subprocess.Popen([sys.executable, "-c", RUN, str(customers), os.path.join(tmp, "simulate.duckdb")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        t0, hwm_kib = time.perf_counter(), 0
        while True:
            try:
                out, err = proc.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                try:
                    with open(f"/proc/{proc.pid}/status") as f:
                        hwm_kib = max([hwm_kib] + [int(line.split()[1]) for line in f if line.startswith("VmHWM:")])
                except (OSError, ValueError, IndexError):
                    pass
    if proc.returncode < 0:  # killed by a signal: SIGKILL is what the OOM killer sends
        return {"killed": -proc.returncode, "seconds": time.perf_counter() - t0, "rss_gib": hwm_kib / 2**20}
    if proc.returncode:
        raise SystemExit(f"benchmark subprocess failed (customers={customers:,}):\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for pkg in ("journeymine", "duckdb", "pyarrow", "numpy"):
        try:
            found.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            found.append(f"{pkg} (not installed)")
    return ", ".join(found)


def memory() -> str:
    try:
        with open("/proc/meminfo") as f:
            total = int(f.readline().split()[1])  # MemTotal, KiB
        return f", {total / 2**20:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, nargs="+", default=[100_000])
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per size (default 3, and 1 for sizes of 1,000,000 customers or more)")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores{memory()}, Python {platform.python_version()}")
    print(f"packages: {versions()}")
    print("jm.simulate(customers=N, days=90, seed=1, store=new DuckDB file) + store.close(), fresh process per run\n")
    verdicts = []
    for n in args.customers:
        repeats = args.repeats if args.repeats is not None else (1 if n >= 1_000_000 else 3)
        runs = [run(n) for _ in range(repeats)]
        killed = [r for r in runs if "killed" in r]
        rss = max(r["rss_gib"] for r in runs)
        rss_runs = " ".join(f"{r['rss_gib']:.2f}" for r in runs)
        if killed:
            signals = ", ".join(str(r["killed"]) for r in killed)
            after = " ".join(f"{r['seconds']:.0f}" for r in killed)
            print(f"{n:,} customers: {len(killed)} of {len(runs)} runs killed (signal {signals}; 9 = SIGKILL, "
                  f"usually the OOM killer) after {after} s; peak RSS seen {rss:.2f} GiB (runs {rss_runs})")
            runs = [r for r in runs if "killed" not in r]
        if runs:
            seconds = [r["seconds"] for r in runs]
            med = statistics.median(seconds)
            last = runs[-1]
            print(f"{n:,} customers: median {med:.1f} s (runs {' '.join(f'{s:.1f}' for s in seconds)}), "
                  f"{last['events']:,} events, {last['links']:,} links, {last['stitched']:,} stitched, "
                  f"{last['events'] / med:,.0f} events/s, peak RSS {rss:.2f} GiB "
                  f"(runs {rss_runs}), file {last['bytes'] / 1e6:,.1f} MB "
                  f"({last['bytes'] / last['events']:.1f} bytes/event)")
        else:
            med = float("inf")
        note = f", {len(killed)} of {repeats} runs killed" if killed else ""
        if n in TARGET_SECONDS:
            ok = med < TARGET_SECONDS[n] and not killed
            took = f"in {med:.1f} s" if runs else "did not complete"
            verdicts.append(f"{'PASS' if ok else 'FAIL'}: {n:,} customers {took} "
                            f"(target < {TARGET_SECONDS[n]:.0f} s){note}")
        if n in TARGET_RSS_GIB:
            ok = rss < TARGET_RSS_GIB[n] and not killed
            verdicts.append(f"{'PASS' if ok else 'FAIL'}: {n:,} customers peak RSS {rss:.2f} GiB "
                            f"(target < {TARGET_RSS_GIB[n]:.0f} GiB){note}")
    if verdicts:
        print()
        print("\n".join(verdicts))


if __name__ == "__main__":
    main()
