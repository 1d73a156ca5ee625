"""Store.sequences: rows always ordered by (actor, time, load order), even when DuckDB's parallel scan
returns its parts out of order (it does, for filtered scans of the clustered projection)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import journeymine as jm
from journeymine.store._store import _descents, _in_order, _order, codes_predicate

TYPES = ["added to cart", "checkout address", "checkout delivery", "checkout payment", "order placed"]


def keys(table: pa.Table) -> list[tuple]:
    return list(zip(table["actor"].to_pylist(), table["time"].cast(pa.int64()).to_pylist(), table["event"].to_pylist()))


@pytest.fixture(scope="module")
def shop():
    sim = jm.simulate(customers=20_000, days=90, seed=11)  # a store whose filtered scans come in two parallel parts
    yield sim.store
    sim.store.close()


def test_filtered_scans_are_ordered_and_complete(shop):
    table = shop.sequences("session", types=TYPES)
    k = keys(table)
    assert k == sorted(k) and len(set(k)) == len(k)
    codes = [c for n, c in shop.event_types().items() if n in TYPES]
    expected = shop.query(f"SELECT count(*) AS n FROM seq WHERE object_type = 'session' AND type_code IN "
                          f"({', '.join(map(str, codes))})").column(0)[0].as_py()
    assert table.num_rows == expected


def _table(actors, times):
    return pa.table({"actor": pa.array(actors, pa.int64()), "time": pa.array(times, pa.int64()).cast(pa.timestamp("us")),
                     "type": pa.array([0] * len(actors), pa.int32()), "event": pa.array(range(len(actors)), pa.int64())})


def test_runs_returned_out_of_order_are_put_back():
    lo, hi = _table([1, 1, 2], [5, 6, 1]), _table([3, 4, 4], [1, 1, 2])
    swapped = pa.concat_tables([hi, lo])
    assert _in_order(swapped)["actor"].to_pylist() == [1, 1, 2, 3, 4, 4]
    assert _in_order(swapped)["event"].to_pylist() == [0, 1, 2, 0, 1, 2]


def test_overlapping_runs_are_sorted():
    overlapping = pa.concat_tables([_table([1, 5], [0, 0]), _table([3, 4], [0, 0])])
    assert _in_order(overlapping)["actor"].to_pylist() == [1, 3, 4, 5]


@pytest.mark.parametrize("seed", range(6))
def test_the_compiled_and_numpy_order_checks_agree(seed):
    """``_descents`` finds every position where (actor, time, event) does not increase, in C and NumPy."""
    rng = np.random.default_rng(seed)
    n = 3000
    batch = _table(np.sort(rng.integers(0, 300, n)).tolist(), np.sort(rng.integers(0, 50, n)).tolist()).to_batches()[0]
    shuffled = batch.take(pa.array(np.where(rng.random(n) < 0.02, rng.integers(0, n, n), np.arange(n))))
    for b in (batch, shuffled):
        c, p = _descents(b, compiled=True), _descents(b, compiled=False)
        assert np.array_equal(c, p)
        k = keys(pa.Table.from_batches([b]))
        assert c.tolist() == [i for i in range(1, n) if k[i] <= k[i - 1]]
    assert _order is not None  # built by setup.py


@pytest.mark.parametrize("codes", [[], [7], [0, 2, 8, 10], [1, 61, 62, 63, 200], list(range(0, 300, 7))])
def test_the_type_code_predicate_keeps_exactly_the_codes(codes):
    """Bit tests on 62-bit windows (fast in DuckDB) select the same rows as ``IN``."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range::INTEGER AS c FROM range(0, 400)")
    got = [r[0] for r in con.execute(f"SELECT c FROM t WHERE {codes_predicate('c', codes)} ORDER BY c").fetchall()]
    assert got == sorted(codes)
