"""Journey and process together: the process causes of journey outcomes (J2P), what process changes
did to the journey (P2J), the journey map with the process steps behind it, and one ranked action list."""

from __future__ import annotations

from ._explain import Explanation, explain
from ._impact import Impact, Metric, duration_between, impact
from ._journey_map import JourneyMap, journey_map
from ._outcomes import Outcome, dropped_after, followed_by, scored
from ._priorities import Priorities, priorities
from ._stages import RETAIL_STAGES
from ._whatif import WhatIf, what_if

__all__ = ["RETAIL_STAGES", "Explanation", "Impact", "JourneyMap", "Metric", "Outcome", "Priorities", "WhatIf",
           "dropped_after", "duration_between", "explain", "followed_by", "impact", "journey_map", "priorities",
           "scored", "what_if"]
