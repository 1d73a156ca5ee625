"""Parity on real logs: the same store on DuckDB and on Spark answers info() and the views identically."""

from __future__ import annotations

import pytest

import journeymine as jm


@pytest.mark.spark
def test_real_logs_read_the_same_on_spark(tmp_path, spark, data_dir):
    with jm.connect(tmp_path / "real.duckdb") as duck:
        jm.read_ocel(data_dir / "ocel2-order-management/order-management.xml.gz", duck)
        jm.read_xes(data_dir / "running-example/running-example.xes", duck)
        jm.write_parquet(duck, tmp_path / "layout")
        with jm.connect_spark(tmp_path / "layout", spark=spark) as store:
            info = store.info()
            assert info == duck.info()
            assert info.events == 21_008 + 42 and info.objects_by_type["orders"] == 2_000
            for object_type in ("orders", "case"):
                assert store.process_view(object_type) == duck.process_view(object_type)
            assert store.journey("3", object_type="case") == duck.journey("3", object_type="case")
