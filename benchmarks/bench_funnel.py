"""Funnel benchmark: ``jm.funnel`` against ClickHouse's ``windowFunnel`` (chDB, in-process ClickHouse).

    python benchmarks/bench_funnel.py                                     # 500,000 customers, 10 M events
    python benchmarks/bench_funnel.py --customers 20000 --events 400000   # a quick check, seconds
    python benchmarks/bench_funnel.py --repeats 3 --warmup 0

Data: a seeded synthetic shop (NumPy, vectorised) of ``--customers`` customers with exactly ``--events``
events over ``--days`` days, 12 event types of which 4 are the funnel ("view item", "add to cart",
"begin checkout", "purchase"). Events come in sessions (whole seconds apart, about 6 % of gaps zero, so
same-second ties and repeated step events are common); each session goes some way down the funnel
(browse only, view, cart, checkout, purchase) or resumes a checkout started in an earlier session, so a
7-day funnel converts across sessions too. Timestamps are microseconds, UTC. It is written once to
``benchmarks/.data/`` (gitignored) as a Parquet file ``(user string, ts UInt64 µs, event string)`` and
as a journeymine DuckDB store (imported with ``jm.read_frame``), both keyed by the generator's
parameters, so reruns skip generation; ``--regenerate`` forces it.

ClickHouse's ``windowFunnel(W, 'strict_increase')`` is shallower than our entry="any" when an event of
step j and one of step j+1 of the same customer share a timestamp (its greedy keeps one chain per
step and a same-time repeat overwrites it: see ``tests/journeys/test_funnel_oracle.py``). Elsewhere
the two are equal, so the generator moves such step events by a fraction of a second (step k by
k/10 s) to keep the counts comparable exactly; every other kind of tie stays. The number moved is
printed.

Timed, each tool in its own fresh Python process, ``--warmup`` untimed calls then ``--repeats`` timed
ones (median reported), 4-step funnel, 7-day window:

- chDB A: ``windowFunnel`` straight over the Parquet file (``file()`` table function), grouped by
  user, then the level histogram;
- chDB B: the same query over a chDB session's MergeTree table ``ORDER BY (user, ts)`` holding only
  the 4 step events (pre-filtered, as PostHog does); building the table is timed once, separately;
- journeymine: ``jm.funnel(store, steps, window="7d", entry="any")`` and ``entry="first"`` on the
  store opened read-only; also ``jm.paths`` and ``jm.retention`` when they exist (goal < 3 s each).

Checks that journeymine's entry="any" count of every step equals chDB's (count[k] = users with level
>= k, in both set-ups); a mismatch is printed loudly and the exit code is 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / ".data"
GENERATOR_VERSION = 2  # bump when the generator's code changes (its constants are hashed into the file names)

STEPS = ["view item", "add to cart", "begin checkout", "purchase"]
OTHER = ["page view", "search", "view category", "login", "add to wishlist", "remove from cart", "view cart",
         "contact support"]
EVENT_NAMES = STEPS + OTHER  # code = index; step level = code + 1 for the first four, else 0
# types of the events that are not a session's funnel "slots" (repeated step events included)
FILLER_P = dict(zip(EVENT_NAMES, [0.20, 0.02, 0.01, 0.005, 0.30, 0.13, 0.15, 0.04, 0.04, 0.035, 0.06, 0.01]))
# session kinds: how far down the funnel a session goes (its first slot level, number of slots)
KINDS = {"browse": (1, 0, 0.46), "view": (1, 1, 0.35), "cart": (1, 2, 0.08), "checkout": (1, 3, 0.03),
         "purchase": (1, 4, 0.05), "resume": (3, 2, 0.03)}  # resume: checkout + purchase, cart earlier
MEAN_SESSION = 6.0  # events
EPOCH_S = 1_704_067_200  # 2024-01-01 00:00:00 UTC
WINDOW_S = 7 * 86_400


# --- data ---------------------------------------------------------------------------------------------

def generate(customers: int, events: int, days: int, seed: int, keep_adjacent_ties: bool = False):
    """The synthetic events as (user code int32, ts µs int64, event code int8), sorted by time
    (ties by user), plus the number of step events moved off an adjacent-step tie."""
    rng = np.random.default_rng(seed)
    first_slot = np.array([v[0] for v in KINDS.values()], np.int8)
    n_slots = np.array([v[1] for v in KINDS.values()], np.int64)
    kind_p = np.array([v[2] for v in KINDS.values()])
    n_sess = int(events / MEAN_SESSION * 1.3) + customers
    while True:
        kind = rng.choice(len(KINDS), n_sess, p=kind_p)
        length = np.maximum(rng.geometric(1 / MEAN_SESSION, n_sess), n_slots[kind])
        cum = np.cumsum(length)
        if cum[-1] >= events:
            break
        n_sess *= 2
    sessions = int(np.searchsorted(cum, events)) + 1  # the last one is cut to hit `events` exactly
    if sessions < customers:
        raise SystemExit(f"{events:,} events are too few for {customers:,} customers (need one session each)")
    kind, length = kind[:sessions], length[:sessions].copy()
    length[-1] -= cum[sessions - 1] - events
    # customers: one session each, the rest by a skewed activity weight
    activity = rng.lognormal(0.0, 1.0, customers)
    owner = np.concatenate([rng.permutation(customers),
                            rng.choice(customers, sessions - customers, p=activity / activity.sum())]).astype(np.int32)
    start_s = rng.integers(0, days * 86_400 - 6 * 3600, sessions)

    sess = np.repeat(np.arange(sessions), length)
    begin = np.concatenate([[0], np.cumsum(length)[:-1]])
    pos = np.arange(events) - np.repeat(begin, length)
    slot = pos < n_slots[kind][sess]
    code = np.where(slot, (first_slot[kind][sess] - 1) + pos,
                    rng.choice(len(EVENT_NAMES), events, p=list(FILLER_P.values()))).astype(np.int8)
    level = np.where(code < len(STEPS), code + 1, 0).astype(np.int8)
    # order within a session: funnel steps mostly in funnel order, the rest anywhere
    key = np.where(level > 0, level + rng.uniform(-0.3, 1.0, events), rng.uniform(0.0, 5.0, events))
    order = np.argsort(sess + (key + 0.5) / 6.0)  # by session, then key (in [0, 5]); one float key is ~40x
    # faster than np.lexsort here
    code, level = code[order], level[order]
    gap = np.where(rng.random(events) < 0.06, 0, 1 + rng.exponential(45.0, events).astype(np.int64))
    gap[begin] = 0
    elapsed = np.cumsum(gap)
    seconds = start_s[sess] + elapsed - np.repeat(elapsed[begin], length)
    ts = (EPOCH_S + seconds) * 1_000_000
    user = owner[sess]

    # step k at the same time as step k-1 (same customer): move it by k/10 s (see the module docs)
    by = _order(user, ts)
    u, t, lv = user[by], ts[by], level[by]
    new = np.r_[True, (u[1:] != u[:-1]) | (t[1:] != t[:-1])]
    group = np.cumsum(new) - 1
    bits = np.bitwise_or.reduceat(np.where(lv > 0, 1 << lv.astype(np.int64), 0), np.flatnonzero(new))
    move = (lv >= 2) & ((bits[group] >> (lv.astype(np.int64) - 1)) & 1).astype(bool)
    moved = int(move.sum())
    if not keep_adjacent_ties:
        t = t + np.where(move, lv.astype(np.int64) * 100_000, 0)
    final = np.argsort(t, kind="stable")  # by time, ties by user (the rows are by user, time)
    return u[final], t[final], code[by][final], moved


def _order(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """np.lexsort((minor, major)) for non-negative integers, as one int64 argsort when the two fit."""
    lo = minor - minor.min()
    bits = int(lo.max()).bit_length()
    if int(major.max()).bit_length() + bits <= 62:
        return np.argsort((major.astype(np.int64) << bits) | lo, kind="stable")
    return np.lexsort((minor, major))


def paths_for(customers: int, events: int, days: int, seed: int, keep: bool) -> dict[str, Path]:
    shape = json.dumps([GENERATOR_VERSION, EVENT_NAMES, FILLER_P, KINDS, MEAN_SESSION, EPOCH_S], sort_keys=True)
    digest = hashlib.sha256(shape.encode()).hexdigest()[:8]  # the generator's constants
    stem = f"funnel_c{customers}_e{events}_d{days}_s{seed}{'_ties' if keep else ''}_{digest}"
    return {"parquet": DATA / f"{stem}.parquet", "store": DATA / f"{stem}.duckdb", "meta": DATA / f"{stem}.json"}


def prepare(customers: int, events: int, days: int, seed: int, keep: bool, regenerate: bool) -> dict:
    """Generate (or reuse) the Parquet file and the store; returns the meta data with the timings."""
    files = paths_for(customers, events, days, seed, keep)
    if not regenerate and all(p.exists() for p in files.values()):
        meta = json.loads(files["meta"].read_text())
        meta["cached"] = True
        import journeymine as jm

        jm.connect(files["store"]).close()  # migrates a store of an older schema (read-only opens refuse to)
        return meta | {k: str(v) for k, v in files.items()}
    import pyarrow as pa
    import pyarrow.parquet as pq

    import journeymine as jm

    DATA.mkdir(parents=True, exist_ok=True)
    for p in files.values():
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    user, ts, code, moved = generate(customers, events, days, seed, keep)
    t1 = time.perf_counter()
    names = pa.array([f"c{i:07d}" for i in range(customers)])
    table = pa.table({
        "user": pa.DictionaryArray.from_arrays(pa.array(user), names).dictionary_decode(),
        "ts": pa.array(ts.astype(np.uint64)),
        "event": pa.DictionaryArray.from_arrays(pa.array(code), pa.array(EVENT_NAMES)).dictionary_decode(),
    })
    partial = files["parquet"].with_suffix(".parquet.partial")
    pq.write_table(table, partial, compression="zstd")
    partial.rename(files["parquet"])
    t2 = time.perf_counter()
    frame = table.set_column(1, "ts", pa.array(ts, pa.int64()).cast(pa.timestamp("us", tz="UTC")))
    del table
    partial = files["store"].with_suffix(".duckdb.partial")
    partial.unlink(missing_ok=True)
    store = jm.connect(partial)
    t3 = time.perf_counter()
    report = jm.read_frame(frame, store, activity_col="event", timestamp_col="ts", customer_col="user",
                           attribute_cols=[], source="bench_funnel")
    store.close()
    t4 = time.perf_counter()
    partial.rename(files["store"])
    steps_n = int((code < len(STEPS)).sum())
    meta = {"customers": customers, "events": events, "days": days, "seed": seed, "moved": moved,
            "step_events": steps_n, "events_imported": report.events_imported,
            "generate_s": t1 - t0, "parquet_s": t2 - t1, "load_s": t4 - t3,
            "parquet_bytes": files["parquet"].stat().st_size, "store_bytes": files["store"].stat().st_size}
    files["meta"].write_text(json.dumps(meta, indent=1))
    meta["cached"] = False
    return meta | {k: str(v) for k, v in files.items()}


# --- the timed tools, each in a fresh process ---------------------------------------------------------

CHDB = """
import json, statistics, sys, tempfile, time
from chdb import session
parquet, window, steps = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
repeats, warmup = int(sys.argv[4]), int(sys.argv[5])
conds = ", ".join("event = '" + s + "'" for s in steps)
def query(source):
    return (f"SELECT level, count() AS n FROM (SELECT user, windowFunnel({window}, 'strict_increase')(ts, {conds}) "
            f"AS level FROM {source} GROUP BY user) GROUP BY level ORDER BY level FORMAT JSONCompact")
def timed(sess, sql):
    times, cpu, hist = [], [], None
    for i in range(warmup + repeats):
        t, c = time.perf_counter(), time.process_time()
        hist = {int(r[0]): int(r[1]) for r in json.loads(sess.query(sql).bytes())["data"]}
        if i >= warmup:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    return {"times": times, "cpu": cpu}, hist
out = {}
with tempfile.TemporaryDirectory() as tmp:
    sess = session.Session(tmp)
    out["A"] = timed(sess, query(f"file('{parquet}', Parquet)"))
    in_list = ", ".join("'" + s + "'" for s in steps)
    t = time.perf_counter()
    sess.query("CREATE TABLE steps (user String, ts UInt64, event LowCardinality(String)) "
               "ENGINE = MergeTree ORDER BY (user, ts)")
    sess.query(f"INSERT INTO steps SELECT user, ts, event FROM file('{parquet}', Parquet) WHERE event IN ({in_list})")
    sess.query("OPTIMIZE TABLE steps FINAL")
    build = time.perf_counter() - t
    rows = int(json.loads(sess.query("SELECT count() FROM steps FORMAT JSONCompact").bytes())["data"][0][0])
    out["B"] = timed(sess, query("steps"))
    out["B_build"], out["B_rows"] = build, rows
    version = json.loads(sess.query("SELECT version() FORMAT JSONCompact").bytes())["data"][0][0]
    sess.close()
import chdb
print(json.dumps({"A": out["A"][0] | {"hist": out["A"][1]}, "B": out["B"][0] | {"hist": out["B"][1]},
                  "B_build": out["B_build"], "B_rows": out["B_rows"],
                  "version": f"chdb {chdb.__version__} (ClickHouse {version})"}))
"""

JOURNEYMINE = """
import json, sys, time, traceback
import journeymine as jm
store_path, window, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
repeats, warmup = int(sys.argv[4]), int(sys.argv[5])
store = jm.connect(store_path, read_only=True)
def timed(call):
    times, cpu, result = [], [], None
    try:
        for i in range(warmup + repeats):
            t, c = time.perf_counter(), time.process_time()
            result = call()
            if i >= warmup:
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}, None
    return {"times": times, "cpu": cpu}, result
out = {}
for entry in ("any", "first"):
    if not hasattr(jm, "funnel"):
        out[f"funnel {entry}"] = {"missing": True}
        continue
    res, f = timed(lambda: jm.funnel(store, steps, window=window, entry=entry))
    if f is not None:
        res["counts"] = [s["count"] for s in f.to_dict()["steps"]]
    out[f"funnel {entry}"] = res
calls = {
    "paths forward": ("paths", lambda: jm.paths(store, steps[0], direction="forward", steps=5, top=10)),
    "paths backward": ("paths", lambda: jm.paths(store, steps[-1], direction="backward", steps=5, top=10)),
    "retention weekly": ("retention", lambda: jm.retention(store, steps[0], steps[-1], period="week")),
}
for name, (attr, call) in calls.items():
    out[name] = timed(call)[0] if hasattr(jm, attr) else {"missing": True}
store.close()
print(json.dumps(out))
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
    for pkg in ("journeymine", "duckdb", "pyarrow", "numpy", "chdb"):
        try:
            found.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            found.append(f"{pkg} (not installed)")
    return ", ".join(found)


def counts_of(hist: dict, n: int) -> list[int]:
    """count[k] = users with level >= k, from a {level: users} histogram (JSON keys may be text)."""
    levels = {int(k): v for k, v in hist.items()}
    return [sum(v for lvl, v in levels.items() if lvl >= k) for k in range(1, n + 1)]


def row(label: str, res: dict) -> tuple[str, ...]:
    times = res["times"]
    return (label, f"{statistics.median(times):.3f}", f"{min(times):.3f}", f"{statistics.median(res['cpu']):.3f}",
            " ".join(f"{t:.3f}" for t in times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=500_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--regenerate", action="store_true", help="generate and import again even if cached")
    ap.add_argument("--keep-adjacent-ties", action="store_true",
                    help="do not move step events off a same-time event of the previous step: shows how far "
                         "windowFunnel's counts then fall below ours (reported, not a failure)")
    ap.add_argument("--skip", nargs="*", choices=["chdb", "journeymine"], default=[],
                    help="leave a side out (then nothing is compared)")
    args = ap.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"packages: {versions()}")

    meta = prepare(args.customers, args.events, args.days, args.seed, args.keep_adjacent_ties, args.regenerate)
    where = "cached in" if meta["cached"] else "written to"
    print(f"data: {meta['customers']:,} customers, {meta['events']:,} events over {meta['days']} days "
          f"(seed {meta['seed']}), {meta['step_events']:,} step events, {meta['moved']:,} step events moved "
          f"off an adjacent-step tie{' (would be; kept)' if args.keep_adjacent_ties else ''}; "
          f"{where} {DATA.relative_to(ROOT)}/")
    print(f"      generate {meta['generate_s']:.1f} s, Parquet write {meta['parquet_s']:.1f} s "
          f"({meta['parquet_bytes'] / 1e6:.0f} MB), jm.read_frame into a DuckDB file {meta['load_s']:.1f} s "
          f"({meta['events_imported']:,} events, {meta['store_bytes'] / 1e6:.0f} MB)"
          + (" [timings of the run that generated it]" if meta["cached"] else ""))
    print(f"funnel: {' -> '.join(STEPS)}, window 7 days; median of {args.repeats} runs after {args.warmup} "
          "warm-up, seconds, fresh process per tool\n")

    steps = json.dumps(STEPS)
    n, w = str(args.repeats), str(args.warmup)
    ch = None if "chdb" in args.skip else run(CHDB, meta["parquet"], str(WINDOW_S * 1_000_000), steps, n, w)
    jmr = None if "journeymine" in args.skip else run(JOURNEYMINE, meta["store"], "7d", steps, n, w)

    rows: list[tuple[str, ...]] = []  # (name, median, min, CPU median, runs)
    med: dict[str, float] = {}
    if ch:
        print(f"chDB: {ch['version']}; set-up B table: {ch['B_rows']:,} step rows, built in {ch['B_build']:.1f} s "
              "(CREATE + INSERT ... WHERE event IN steps + OPTIMIZE FINAL, not in the ratios)")
        for setup, label in (("A", "chDB A: windowFunnel over the Parquet file"),
                             ("B", "chDB B: windowFunnel over MergeTree (steps only)")):
            med[setup] = statistics.median(ch[setup]["times"])
            rows.append(row(label, ch[setup]))
    if jmr:
        for name, res in jmr.items():
            label = f"journeymine: jm.{name.replace(' ', ' (', 1)})" if " " in name else name
            label = label.replace("(any)", '(entry="any")').replace("(first)", '(entry="first")')
            if res.get("missing"):
                rows.append((label, "not available", "", "", ""))
            elif "error" in res:
                rows.append((label, "error", "", "", res["error"]))
            else:
                med[name] = statistics.median(res["times"])
                rows.append(row(label, res))
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'what':<{width}}{'median s':>14}{'min s':>8}{'CPU s':>8}   runs (wall s)")
    for label, m, best, cpu, runs in rows:
        print(f"{label:<{width}}{m:>14}{best:>8}{cpu:>8}   {runs}")
    print("CPU s: median process CPU time (all threads) per call, less sensitive than wall time to other load")

    failed = False
    if ch and jmr:
        print()
        for other in ("funnel any", "funnel first"):
            if other in med:
                for setup in ("A", "B"):
                    print(f"ratio chDB {setup} / journeymine {other.split()[1]}: {med[setup] / med[other]:.2f} "
                          f"(> 1: journeymine faster)")
        ca, cb = counts_of(ch["A"]["hist"], len(STEPS)), counts_of(ch["B"]["hist"], len(STEPS))
        ours = jmr["funnel any"].get("counts")
        print(f"\nper-step counts  chDB A {ca}  chDB B {cb}  journeymine any {ours}  "
              f"journeymine first {jmr['funnel first'].get('counts')}")
        if ca != cb:
            print(f"\n!!! MISMATCH between chDB set-ups A {ca} and B {cb}", file=sys.stderr)
            failed = True
        if jmr["funnel any"].get("missing"):
            print("jm.funnel not available: counts not compared")
        elif ours != ca and args.keep_adjacent_ties:
            print(f"counts differ as expected with --keep-adjacent-ties: journeymine - chDB = "
                  f"{[a - b for a, b in zip(ours, ca)]} (ClickHouse's greedy loses chains on adjacent-step ties)")
        elif ours != ca:
            print(f"\n!!! MISMATCH: journeymine entry=\"any\" {ours} != chDB windowFunnel strict_increase {ca} "
                  f"(steps {STEPS})", file=sys.stderr)
            failed = True
        else:
            print("check: journeymine entry=\"any\" counts == chDB windowFunnel(7d, 'strict_increase'): OK")
    for name in ("paths forward", "paths backward", "retention weekly"):
        if name in med:
            verdict = "PASS" if med[name] < 3.0 else "FAIL"
            print(f"{verdict}: jm.{name} median {med[name]:.2f} s (goal < 3 s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
