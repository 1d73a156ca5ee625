"""journeymine: customer journeys and the processes behind them, on one object-centric event store.

>>> import journeymine as jm
>>> store = jm.connect(":memory:")
>>> store.info().events
0
"""

from __future__ import annotations

import logging

from . import errors
from .export import write_ocel, write_parquet, write_xes
from .ingest import guess_format, read, read_csv, read_frame, read_ocel, read_parquet, read_xes
from .journeys import (
    CartAbandonment,
    CartStep,
    Comebacks,
    Driver,
    DriversResult,
    FieldStats,
    FormAbandonment,
    FunnelResult,
    FunnelStep,
    KpiResult,
    KpiRow,
    Overview,
    PathsResult,
    RetentionCohort,
    RetentionPoint,
    RetentionResult,
    SessionRule,
    SessionsResult,
    Step,
    StepMatrix,
    cart_abandonment,
    drivers,
    form_abandonment,
    funnel,
    kpis,
    overview,
    paths,
    retention,
    sessions,
    step_matrix,
)
from .processes import (
    DFG,
    Bottlenecks,
    BusinessHours,
    CaseDurations,
    ProcessView,
    Variants,
    bottlenecks,
    case_durations,
    discover_dfg,
    process_view,
    variants,
)
from .results import Result, Segment
from .simulate import Effects, Simulation, Truth, World, simulate
from .store import Batch, ImportReport, Store, StoreInfo, connect, connect_spark

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "Bottlenecks",
    "BusinessHours",
    "CartAbandonment",
    "CartStep",
    "CaseDurations",
    "Comebacks",
    "DFG",
    "Driver",
    "DriversResult",
    "Effects",
    "FieldStats",
    "FormAbandonment",
    "FunnelResult",
    "FunnelStep",
    "ImportReport",
    "KpiResult",
    "KpiRow",
    "Overview",
    "PathsResult",
    "ProcessView",
    "Result",
    "RetentionCohort",
    "RetentionPoint",
    "RetentionResult",
    "Segment",
    "SessionRule",
    "SessionsResult",
    "Simulation",
    "Step",
    "StepMatrix",
    "Store",
    "StoreInfo",
    "Truth",
    "Variants",
    "World",
    "__version__",
    "bottlenecks",
    "cart_abandonment",
    "case_durations",
    "connect",
    "connect_spark",
    "discover_dfg",
    "drivers",
    "errors",
    "form_abandonment",
    "funnel",
    "guess_format",
    "kpis",
    "overview",
    "paths",
    "process_view",
    "read",
    "read_csv",
    "read_frame",
    "read_ocel",
    "read_parquet",
    "read_xes",
    "retention",
    "sessions",
    "simulate",
    "step_matrix",
    "variants",
    "write_ocel",
    "write_parquet",
    "write_xes",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
