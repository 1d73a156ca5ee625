"""The offline HTML report: charts and tables drawn from analysis results, in one self-contained file.

A surface like the CLI: it imports the analyses, nothing but the CLI (and the facade) imports it.
"""

from __future__ import annotations

from ._build import Report, build_report
from ._page import Section

__all__ = ["Report", "Section", "build_report"]
