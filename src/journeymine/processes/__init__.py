"""Process analytics: the process view of an object type's cases, pure functions returning typed results."""

from __future__ import annotations

from ._dfg import DFG, discover_dfg
from ._bottlenecks import Bottlenecks, bottlenecks
from ._calendar import BusinessHours
from ._variants import CaseDurations, Variants, case_durations, variants
from ._view import ProcessView, process_view

__all__ = ["DFG", "Bottlenecks", "BusinessHours", "CaseDurations", "ProcessView", "Variants", "bottlenecks",
           "case_durations", "discover_dfg", "process_view", "variants"]
