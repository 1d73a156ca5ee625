"""Exporters: write a store's events and objects as OCEL 2.0, XES or a Parquet layout."""
