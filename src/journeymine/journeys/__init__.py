"""Journey analytics: pure functions of (store, parameters) returning typed results."""

from __future__ import annotations

from ._overview import Overview, overview

__all__ = ["Overview", "overview"]
