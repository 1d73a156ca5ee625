"""Result types every backend returns for the same query: the one place they are fixed."""

from __future__ import annotations

import pyarrow as pa

__all__ = ["canonical_type", "normalise_result"]


def canonical_type(t: pa.DataType) -> pa.DataType:
    """The type every backend returns for ``t`` (see :func:`normalise_result`)."""
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pa.timestamp(t.unit)
    if pa.types.is_decimal(t) and t.precision == 38 and t.scale == 0:
        return pa.int64()  # DuckDB's HUGEINT, e.g. sum() of integers; Spark's sum is BIGINT
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(canonical_type(t.value_type))  # child field "item", as pyarrow names it
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, canonical_type(f.type)) for f in t])
    return t


def normalise_result(table: pa.Table) -> pa.Table:
    """Give a query result the types every backend returns (the one place result types are fixed).

    - ``large_string``/``string_view`` -> ``string``; ``large_binary``/``binary_view`` -> ``binary``;
      ``large_list`` -> ``list``, list items named ``item`` (also inside lists and structs);
    - ``timestamp[unit, tz=...]`` -> ``timestamp[unit]`` holding the UTC wall time;
    - ``decimal128(38, 0)`` (DuckDB's ``HUGEINT``, the type of ``sum`` over integers) -> ``int64``
      when every value fits, else left as it is;
    - every field nullable, no schema or field metadata.

    >>> t = pa.table({"n": pa.array([1], pa.int64()), "s": pa.array(["a"], pa.large_string())})
    >>> normalise_result(t).schema.types
    [DataType(int64), DataType(string)]
    """
    fields = [pa.field(f.name, canonical_type(f.type), nullable=True) for f in table.schema]
    target = pa.schema(fields)
    if table.schema.equals(target, check_metadata=True):
        return table
    columns = []
    for column, field in zip(table.columns, target):
        if column.type.equals(field.type):
            columns.append(column)
            continue
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if not pa.types.is_decimal(column.type):
                raise
            columns.append(column)  # a HUGEINT beyond int64 stays decimal
            fields[len(columns) - 1] = pa.field(field.name, column.type)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
