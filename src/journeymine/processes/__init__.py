"""Process analytics: the process view of an object type's cases, pure functions returning typed results."""

from __future__ import annotations

from ._dfg import DFG, discover_dfg
from ._variants import CaseDurations, Variants, case_durations, variants

__all__ = ["DFG", "CaseDurations", "Variants", "case_durations", "discover_dfg", "variants"]
