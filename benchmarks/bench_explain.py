"""Journey and process at scale: ``jm.explain`` (J2P), ``jm.impact`` (P2J) and the combined view on 100,000
simulated customers (goal: under 30 s each).

    python benchmarks/bench_explain.py                      # 100,000 customers, 90 days, 3 runs
    python benchmarks/bench_explain.py --customers 20000 --repeats 5

The simulated company (seed 1) is written once to ``benchmarks/.data/explain_c{N}.duckdb`` (reused).
Then, in one fresh Python process, each outcome is timed ``--repeats`` times (wall clock, median): the
whole ``jm.explain`` call — the outcome (a funnel or the journeys of the units), the links to the
process objects, the process view, every candidate feature, the estimates and the ranking:

- ``payment drop``: sessions that reached ``payment verification completed`` and did not place the
  order within the hour; causes from the ``payment`` process (waits with a 2-minute threshold, method);
- ``contact after order``: orders followed by a service contact within 14 days; causes from the
  ``order`` process (every wait, every activity, shipping), adjusted for ``customer.segment``.

Then, the same way: ``jm.impact`` of the contact rate and of the hours to delivery at day 45 (interrupted
time series, 500 cluster-bootstrap resamples), ``jm.journey_map`` (default stages), ``jm.priorities``
(defaults) and the whole ``jm.build_report`` (with the change date).
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
GOAL = 30.0

RUN = """
import json, sys, time
import journeymine as jm
store = jm.connect(sys.argv[1], read_only=True)
repeats = int(sys.argv[2])
cases = {
    "payment drop": (jm.dropped_after(["checkout payment", "payment verification completed", "order placed"], 2,
                                      window="1h"),
                     {"process": "payment", "thresholds": {"payment verification completed": ["2m"]},
                      "attributes": ["method"]}),
    "contact after order": (jm.followed_by("order", "order placed", "service contact", "14d"),
                            {"process": "order", "attributes": ["shipping"], "confounders": ["customer.segment"]}),
}
out = {}
for name, (outcome, options) in cases.items():
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        e = jm.explain(store, outcome, **options)
        times.append(time.perf_counter() - t)
    out[name] = {"times": times, "units": e.units, "tested": e.tested, "top": e.top(1)[0]["sentence"]}
others = {
    "impact: contacts": lambda: jm.impact(store, jm.followed_by("order", "order placed", "service contact", "14d"),
                                          "2026-02-19"),
    "impact: delivery hours": lambda: jm.impact(store, jm.duration_between("order", "order placed", "delivered"),
                                                "2026-02-19"),
    "journey map": lambda: jm.journey_map(store),
    "priorities": lambda: jm.priorities(store),
    "report": lambda: jm.build_report(store, change="2026-02-19"),
}
for name, work in others.items():
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        r = work()
        times.append(time.perf_counter() - t)
    units = getattr(r, "before_units", 0) + getattr(r, "after_units", 0) or getattr(r, "actors", 0)
    top = (f"{r.estimate:+.4g} [{r.low:+.4g}, {r.high:+.4g}]" if hasattr(r, "estimate")
           else r.sentences()[0] if hasattr(r, "sentences") else "")
    out[name] = {"times": times, "units": units, "tested": 0, "top": top}
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    path = DATA / f"explain_c{args.customers}.duckdb"
    if not path.exists():
        import journeymine as jm

        jm.simulate(customers=args.customers, days=90, seed=1, store=path).store.close()
    proc = subprocess.run([sys.executable, "-c", RUN, str(path), str(args.repeats)], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    failed = False
    for name, r in result.items():
        median = statistics.median(r["times"])
        failed |= median >= GOAL
        print(f"{name:20} {r['units']:>9,} units {r['tested']:>4} causes  median {median:6.2f} s  "
              f"runs {' '.join(f'{t:.2f}' for t in r['times'])}  goal < {GOAL:.0f} s: {'met' if median < GOAL else 'NOT met'}")
        if r["top"]:
            print(f"{'':20} top: {r['top']}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
