"""Journey and process together: the process causes of journey outcomes (J2P)."""

from __future__ import annotations

from ._explain import Explanation, explain
from ._outcomes import Outcome, dropped_after, followed_by

__all__ = ["Explanation", "Outcome", "dropped_after", "explain", "followed_by"]
