"""Journey and process together: the process causes of journey outcomes (J2P) and what process changes
did to the journey (P2J)."""

from __future__ import annotations

from ._explain import Explanation, explain
from ._impact import Impact, Metric, duration_between, impact
from ._outcomes import Outcome, dropped_after, followed_by
from ._whatif import WhatIf, what_if

__all__ = ["Explanation", "Impact", "Metric", "Outcome", "WhatIf", "dropped_after", "duration_between", "explain",
           "followed_by", "impact", "what_if"]
