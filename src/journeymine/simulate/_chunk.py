"""The state one chunk of people is simulated in: its random stream, clock, event log and truth rows.

People are simulated in chunks of a fixed size (independent of memory or machine), each with its own
random stream seeded by ``(seed, chunk)``, so the same seed gives the same company however it is run.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from ._clock import Clock
from ._config import World
from ._log import EventLog

__all__ = ["CHUNK_PEOPLE", "Chunk", "TruthRows"]

CHUNK_PEOPLE = 25_000


@dataclasses.dataclass
class TruthRows:
    """Per-unit ground truth gathered while simulating: for each planted effect the units it concerns,
    whether they were treated, and their outcome probability (or value) with and without the effect."""

    units: list[pa.Table] = dataclasses.field(default_factory=list)
    people: list[pa.Table] = dataclasses.field(default_factory=list)
    contacts: list[pa.Table] = dataclasses.field(default_factory=list)

    def add(self, effect: str, object_type: str, object_ids: pa.Array, treated: np.ndarray,
            without: np.ndarray, with_: np.ndarray, kpi: str) -> None:
        n = len(object_ids)
        if n:
            self.units.append(pa.table({
                "effect": pa.repeat(pa.scalar(effect), n), "kpi": pa.repeat(pa.scalar(kpi), n),
                "object_type": pa.repeat(pa.scalar(object_type), n), "object_id": object_ids,
                "treated": pa.array(np.asarray(treated, bool)),
                "without_effect": pa.array(np.asarray(without, np.float64)),
                "with_effect": pa.array(np.asarray(with_, np.float64))}))


@dataclasses.dataclass
class Chunk:
    index: int
    size: int
    seed: int
    world: World
    clock: Clock
    log: EventLog
    truth: TruthRows
    rng: np.random.Generator = dataclasses.field(init=False)
    pairs: list[tuple[pa.Array, pa.Array]] = dataclasses.field(default_factory=list)  # (visitor, customer)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng([self.seed, self.index])
