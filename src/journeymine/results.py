"""What analyses return: typed result objects with one table form, one JSON form, and segments.

Every analysis result is a frozen dataclass that subclasses :class:`Result`: ``to_arrow()`` gives its
main table, ``to_pandas()`` the same as a DataFrame, ``to_dict()``/``to_json()`` its JSON form (the one
the CLI prints with ``--json`` and the HTTP API will serve). A :class:`Segment` is a set of actors an
analysis picked out (e.g. the customers who dropped after funnel step 2); it can be handed to another
analysis as ``actors=`` to restrict it to them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pyarrow as pa

__all__ = ["Result", "Segment", "jsonable"]


def jsonable(value: object) -> object:
    """``value`` with NumPy scalars, NaN, datetimes and nested results made JSON-ready."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


class Result:
    """Base of analysis results: subclasses implement :meth:`to_arrow` and :meth:`to_dict`."""

    def to_arrow(self) -> pa.Table:
        raise NotImplementedError

    def to_pandas(self):
        """The main table as a pandas DataFrame."""
        return self.to_arrow().to_pandas()

    def to_dict(self) -> dict[str, object]:
        raise NotImplementedError

    def to_json(self, **kwargs: object) -> str:
        """The JSON form (``to_dict`` with NaN as ``null`` and times in ISO 8601)."""
        return json.dumps(jsonable(self.to_dict()), **kwargs)


@dataclasses.dataclass(frozen=True, eq=False)
class Segment(Result):
    """A set of actors of one unit (object type, or derived sessions) picked out by an analysis.

    ``codes`` are the store's integer object codes of the actors (for derived sessions: of the
    customers whose sessions they are, with ``sessions`` giving (customer code, session start in µs)).
    A segment belongs to the store it was computed on. :meth:`ids` resolves the codes to object ids.
    """

    name: str
    object_type: str
    codes: np.ndarray
    session_starts: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.codes.size)

    def ids(self, store) -> list[str]:
        """The object ids of the segment's actors (customers of sessions), in code order."""
        codes = np.unique(self.codes)
        if codes.size == 0:
            return []
        rows = store.query("SELECT code, id FROM object WHERE type = $t ORDER BY code", {"t": self.object_type})
        found = rows.column("code").to_numpy()
        at = np.searchsorted(found, codes)
        ids = rows.column("id").to_pylist()
        return [ids[i] for i in at]

    def to_arrow(self) -> pa.Table:
        columns = {"object_code": pa.array(self.codes, pa.int64())}
        if self.session_starts is not None:
            columns["session_start"] = pa.array(self.session_starts, pa.int64()).cast(pa.timestamp("us"))
        return pa.table(columns)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "object_type": self.object_type, "actors": len(self)}
