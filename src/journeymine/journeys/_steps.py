"""Funnel steps: an event type, optionally with property filters, and how rows match them.

A step is written as the event type (``"checkout payment"``), as a dict (``{"event": "page viewed",
"where": {"page": "checkout"}}``) or as a :class:`Step`. ``where`` compares event attributes as text
(JSON numbers and booleans by their JSON spelling: ``3``, ``true``); a list of values means any of
them. An attribute that is absent never matches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError
from ._units import Sequences

__all__ = ["Step", "attribute_names", "match", "parse_steps"]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclasses.dataclass(frozen=True)
class Step:
    """One funnel step: an ``event`` type and ``where`` filters on its attributes; ``name`` labels it."""

    event: str
    where: Mapping[str, object] = dataclasses.field(default_factory=dict)
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if not self.where:
            return self.event
        conds = ", ".join(f"{k}={v}" for k, v in self.where.items())
        return f"{self.event} [{conds}]"

    def values(self, attribute: str) -> list[str]:
        v = self.where[attribute]
        return [_text(x) for x in v] if isinstance(v, (list, tuple, set, frozenset)) else [_text(v)]


def parse_steps(steps: object, field: str = "steps", *, minimum: int = 1) -> list[Step]:
    """``steps`` as a list of :class:`Step`; a clear :class:`ConfigError` naming ``field`` otherwise."""
    if isinstance(steps, (str, Step, Mapping)) or not isinstance(steps, Sequence):
        steps = [steps] if isinstance(steps, (str, Step, Mapping)) else steps
    if not isinstance(steps, Sequence) or len(steps) < minimum:
        raise ConfigError(f"The {field} parameter must list at least {minimum} step(s). Got {steps!r} instead.",
                          field=field)
    out = []
    for i, s in enumerate(steps):
        if isinstance(s, Step):
            step = s
        elif isinstance(s, str) and s.strip():
            step = Step(s.strip())
        elif isinstance(s, Mapping) and isinstance(s.get("event"), str) and s["event"].strip():
            unknown = set(s) - {"event", "where", "name"}
            if unknown:
                raise ConfigError(f"The {field} parameter's item {i} has unknown keys {sorted(unknown)}; a step "
                                  "takes 'event', 'where' and 'name'.", field=field)
            where = s.get("where") or {}
            if not isinstance(where, Mapping):
                raise ConfigError(f"The {field} parameter's item {i} must have a dict as 'where'. Got {where!r}.",
                                  field=field)
            step = Step(s["event"].strip(), dict(where), s.get("name"))
        else:
            raise ConfigError(f"The {field} parameter's item {i} must be an event type, a dict with 'event' or a "
                              f"jm.Step. Got {s!r} instead.", field=field)
        out.append(step)
    return out


def attribute_names(steps: Sequence[Step]) -> list[str]:
    """The event attributes the steps' filters read (``e.NAME`` columns to load)."""
    return sorted({k for s in steps for k in s.where})


def match(seqs: Sequences, step: Step) -> np.ndarray:
    """Boolean mask of the rows of ``seqs`` that are ``step``."""
    code = seqs.type_codes.get(step.event)
    if code is None:
        return np.zeros(seqs.n, bool)
    mask = seqs.type == code
    for attribute in step.where:
        column = seqs.attrs[f"e.{attribute}"]
        hit = pc.is_in(column, value_set=pa.array(step.values(attribute), pa.string()))
        mask &= hit.fill_null(False).to_numpy(zero_copy_only=False)
    return mask
