"""Process analytics: the process view of an object type's cases, pure functions returning typed results."""

from __future__ import annotations

from ._bottlenecks import Bottlenecks, bottlenecks
from ._calendar import BusinessHours
from ._conformance import Conformance, check_conformance
from ._costs import ProcessCosts, process_costs
from ._dfg import DFG, discover_dfg
from ._draw import ProcessMap, draw_dfg
from ._model import ReferenceModel, Rule, derive_model, read_model
from ._objects import ObjectSummary, summarize_objects
from ._ocdfg import OCDFG, discover_ocdfg
from ._variants import CaseDurations, Variants, case_durations, variants
from ._view import ProcessView, process_view

__all__ = [
    "DFG", "OCDFG", "Bottlenecks", "BusinessHours", "CaseDurations", "Conformance", "ObjectSummary", "ProcessCosts",
    "ProcessMap", "ProcessView", "ReferenceModel", "Rule", "Variants", "bottlenecks", "case_durations",
    "check_conformance", "derive_model", "discover_dfg", "discover_ocdfg", "draw_dfg", "process_costs", "process_view",
    "read_model", "summarize_objects", "variants",
]
