"""Journey and process together: the process causes of journey outcomes (J2P), what process changes
did to the journey (P2J), and the journey map with the process steps behind it."""

from __future__ import annotations

from ._explain import Explanation, explain
from ._impact import Impact, Metric, duration_between, impact
from ._journey_map import JourneyMap, journey_map
from ._outcomes import Outcome, dropped_after, followed_by
from ._stages import RETAIL_STAGES
from ._whatif import WhatIf, what_if

__all__ = ["RETAIL_STAGES", "Explanation", "Impact", "JourneyMap", "Metric", "Outcome", "WhatIf", "dropped_after",
           "duration_between", "explain", "followed_by", "impact", "journey_map", "what_if"]
