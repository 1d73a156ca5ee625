"""The compiled kernels against their NumPy twins (ADR 0008), A/B in one process, alternating.

    python benchmarks/bench_kernels.py                 # XES first pass on BPIC 2012, funnel kernel if cached
    python benchmarks/bench_kernels.py --repeats 15

- XES: the serial scan of every chunk of ``data/bpic2012/bpic2012.xes.gz`` (``_xes._scan``, one thread,
  the parts kept as ``read_xes`` keeps them), with the C first pass and with every NumPy twin; wall and
  CPU seconds, median; and the JSON objects of its events and traces alone (C pass against Arrow).
- Funnel: ``_chains.match_ordered`` (entry first and any, 4 steps, 7 days) on the 3.4 M step rows of the
  store ``bench_funnel.py`` caches in ``benchmarks/.data/`` (run that first; skipped with a message if the
  store is not there), compiled and NumPy; the results are checked equal.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

STEPS = ["view item", "add to cart", "begin checkout", "purchase"]


def _timed(fn, repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def bench_xes(repeats: int) -> None:
    from journeymine.ingest import _xes

    path = ROOT / "data" / "bpic2012" / "bpic2012.xes.gz"
    chunks = list(_xes._chunks(path))
    compiled = _xes._compiled

    def scan() -> list:  # the parts are kept until the end, as read_xes keeps them (freeing each chunk's
        # arrays at once lets the allocator hand the pages back, and the next chunk pays to fault them in)
        return [_xes._scan(path, buf, n, 0 if i == 0 else 1, last) for i, (buf, n, last) in enumerate(chunks)]

    results: dict[str, list[tuple[float, float]]] = {"C first pass": [], "NumPy twins": []}
    for _ in range(repeats):
        for name, module in (("C first pass", compiled), ("NumPy twins", None)):
            _xes._compiled = module
            results[name].append(_timed(scan, 1))
    _xes._compiled = compiled
    print(f"XES serial scan, BPIC 2012 ({len(chunks)} chunks, {sum(n for _, n, _ in chunks) / 1e6:.1f} MB), "
          f"median of {repeats}, alternating:")
    for name, runs in results.items():
        print(f"  {name:14s} wall {statistics.median(r[0] for r in runs):.3f} s   "
              f"CPU {statistics.median(r[1] for r in runs):.3f} s")


def bench_xes_objects(repeats: int) -> None:
    """The JSON objects of BPIC 2012's events and traces: the C pass against Arrow's list join."""
    import journeymine as jm
    from journeymine.ingest import _xes

    calls, original = [], _xes._objects

    def capture(frag, owner, rows, size, compiled=None):
        calls.append((frag, owner, rows, size))
        return original(frag, owner, rows, size, compiled=compiled)

    _xes._objects = capture
    try:
        with jm.connect(":memory:") as store:
            _xes.read_xes(ROOT / "data" / "bpic2012" / "bpic2012.xes.gz", store)
    finally:
        _xes._objects = original
    for compiled in (True, False):
        wall, _ = _timed(lambda c=compiled: [original(*a, compiled=c) for a in calls], repeats)
        print(f"  JSON objects, {len(calls)} calls: {'C pass' if compiled else 'Arrow list join'} {wall * 1000:.1f} ms")


def bench_funnel_kernel(repeats: int) -> None:
    import numpy as np

    import journeymine as jm
    from journeymine.journeys import _chains, _units
    from journeymine.journeys._steps import match, parse_steps

    stores = sorted((ROOT / "benchmarks" / ".data").glob("funnel_c500000_e10000000_*.duckdb"))
    if not stores:
        print("funnel kernel: no cached store (run benchmarks/bench_funnel.py first); skipped")
        return
    with jm.connect(stores[0], read_only=True) as store:
        seqs = _units.load(store, _units.parse_unit("customer"), types=STEPS)
    masks = [match(seqs, s) for s in parse_steps(STEPS)]
    window = 7 * 86_400 * 10**6
    print(f"funnel kernel, {seqs.n:,} step rows, one thread, median of {repeats}:")
    for entry in ("first", "any"):
        got = {}
        line = []
        for compiled in (True, False):
            got[compiled] = _chains.match_ordered(seqs.key, seqs.time, masks, window, entry=entry, compiled=compiled)
            wall, _ = _timed(lambda c=compiled: _chains.match_ordered(seqs.key, seqs.time, masks, window, entry=entry,
                                                                      compiled=c), repeats)
            line.append(f"{'C' if compiled else 'NumPy'} {wall:.4f} s")
        same = all(np.array_equal(a, b) for a, b in zip(got[True][:4], got[False][:4]))
        print(f"  entry={entry:5s} " + "   ".join(line) + f"   equal: {same}")
        if not same:
            raise SystemExit("the compiled and NumPy kernels disagree")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=8)
    args = ap.parse_args()
    bench_xes(args.repeats)
    bench_xes_objects(args.repeats)
    bench_funnel_kernel(args.repeats)


if __name__ == "__main__":
    main()
