"""The ``journeymine`` command line: thin over the facade; errors become one line and a non-zero exit."""

from __future__ import annotations

from . import (  # noqa: F401  (each registers its commands)
    _abandonment,
    _conformance,
    _drivers,
    _explain,
    _funnel,
    _journey_map,
    _kpis,
    _paths,
    _priorities,
    _process,
    _report,
    _retention,
    _simulate,
)
from ._app import app, main

__all__ = ["app", "main"]
