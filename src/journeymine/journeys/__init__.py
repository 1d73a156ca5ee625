"""Journey analytics: pure functions of (store, parameters) returning typed results."""

from __future__ import annotations

from ._abandonment import (
    CartAbandonment,
    CartStep,
    Comebacks,
    FieldStats,
    FormAbandonment,
    cart_abandonment,
    form_abandonment,
)
from ._drivers import Driver, DriversResult, drivers
from ._funnel import FunnelResult, FunnelStep, funnel
from ._kpis import KpiResult, KpiRow, kpis
from ._overview import Overview, overview
from ._paths import PathsResult, StepMatrix, paths, step_matrix
from ._retention import RetentionCohort, RetentionPoint, RetentionResult, retention
from ._sessions import SessionsResult, sessions
from ._steps import Step
from ._units import SessionRule

__all__ = ["CartAbandonment", "CartStep", "Comebacks", "Driver", "DriversResult", "FieldStats", "FormAbandonment", "FunnelResult", "FunnelStep", "KpiResult", "KpiRow", "Overview", "PathsResult", "RetentionCohort", "RetentionPoint", "RetentionResult", "SessionRule", "SessionsResult", "Step", "StepMatrix", "cart_abandonment", "drivers", "form_abandonment", "funnel", "kpis", "overview", "paths", "retention", "sessions", "step_matrix"]
