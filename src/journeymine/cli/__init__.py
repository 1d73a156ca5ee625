"""The ``journeymine`` command line: thin over the facade; errors become one line and a non-zero exit."""

from __future__ import annotations

from . import _drivers, _funnel, _kpis, _paths, _retention, _simulate  # noqa: F401  (register their commands)
from ._app import app, main

__all__ = ["app", "main"]
