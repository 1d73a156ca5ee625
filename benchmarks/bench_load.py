"""Store.load at scale: a synthetic import of N events over M customers into a fresh DuckDB file.

    python benchmarks/bench_load.py [--events 2000000] [--customers 200000] [--repeats 3]

Events have no source id (content-hash ids, as XES and CSV without an id column), one customer link
each. Prints the median seconds of ``Store.load`` (dedupe, codes, links, the ``seq`` projection, commit)
and the file size per event. Seeded; no peer here (this measures our own write path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import pyarrow as pa

import journeymine as jm


def batch(n: int, customers: int, seed: int = 1) -> jm.Batch:
    rng = np.random.default_rng(seed)
    who = rng.integers(0, customers, n)
    times = np.sort(rng.integers(0, 90 * 86_400 * 10**6, n)).astype("datetime64[us]")
    kinds = np.array(["view", "cart", "checkout", "pay", "confirm"])[rng.integers(0, 5, n)]
    ids = pa.array(np.char.add("c", who.astype(str)))
    return jm.Batch(
        events=pa.table({"ord": np.arange(n), "id": pa.nulls(n, pa.string()),
                         "key": pa.array(np.char.add("k", np.arange(n).astype(str))), "type": kinds,
                         "time": pa.array(times), "attributes": pa.nulls(n, pa.string())}),
        objects=pa.table({"type": ["customer"] * customers,
                          "id": pa.array(np.char.add("c", np.arange(customers).astype(str))),
                          "attributes": pa.nulls(customers, pa.string())}),
        event_objects=pa.table({"event_ord": np.arange(n), "object_type": ["customer"] * n, "object_id": ids,
                                "qualifier": pa.nulls(n, pa.string())}),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    b = batch(args.events, args.customers)
    seconds, size = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            path = os.path.join(tmp, f"load{i}.duckdb")
            with jm.connect(path) as store:
                t0 = time.perf_counter()
                store.load([b])
                seconds.append(time.perf_counter() - t0)
            size = os.path.getsize(path)
    print(f"Store.load of {args.events:,} events / {args.customers:,} customers into a new DuckDB file: "
          f"median {statistics.median(seconds):.2f} s (runs {' '.join(f'{s:.2f}' for s in seconds)}), "
          f"{size / args.events:.1f} bytes/event")


if __name__ == "__main__":
    main()
