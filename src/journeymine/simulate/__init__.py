"""The company simulator: a seeded retailer whose journeys and processes carry planted, known effects.

A source like the importers: it builds store batches and loads them; it never touches a driver.
"""

from __future__ import annotations

from ._config import EFFECTS, Effects, Persona, World, parse_effects
from ._run import Simulation, simulate
from ._truth import Truth

__all__ = ["EFFECTS", "Effects", "Persona", "Simulation", "Truth", "World", "parse_effects", "simulate"]
