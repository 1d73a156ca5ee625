"""Imports point one way: only ``journeymine.store`` imports a database driver; ingest and export never
import the CLI; the store never imports ingest, export or the CLI; the report is a surface: only the CLI
(and the facade) import it, it never imports the CLI and runs no SQL of its own."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "src" / "journeymine"
DRIVERS = {"duckdb", "pyspark", "sqlite3"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                pkg = path.relative_to(PKG.parent).with_suffix("").parts[: -node.level]
                base = ".".join([*pkg, base]) if base else ".".join(pkg)
            names.add(base)
    return names


def _modules(sub: str):
    return sorted((PKG / sub).rglob("*.py")) if sub else sorted(PKG.glob("*.py"))


def test_only_the_store_imports_database_drivers():
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        drivers = {n.split(".")[0] for n in _imports(path)} & DRIVERS
        allowed = {"duckdb", "pyspark"} if rel.parts[0] == "store" else set()
        # OCEL 2.0 SQLite is a file format: its reader and writer use the stdlib sqlite3 module.
        if rel.name.startswith("_ocel"):
            allowed |= {"sqlite3"}
        if drivers - allowed:
            offenders.append(f"{rel}: {sorted(drivers - allowed)}")
    assert not offenders


def test_store_imports_no_upper_layer():
    for path in _modules("store"):
        bad = {n for n in _imports(path) if n.startswith(("journeymine.ingest", "journeymine.export", "journeymine.cli"))}
        assert not bad, f"{path.name} imports {bad}"


def test_analyses_import_no_surface_and_single_views_not_the_combined_one():
    for sub in ("journeys", "processes"):
        for path in _modules(sub):
            bad = {n for n in _imports(path) if n.startswith(("journeymine.cli", "journeymine.combined"))}
            assert not bad, f"{sub}/{path.name} imports {bad}"
    for path in _modules("combined"):
        assert not {n for n in _imports(path) if n.startswith("journeymine.cli")}, path.name


def test_ingest_and_export_do_not_import_the_cli():
    for sub in ("ingest", "export"):
        for path in _modules(sub):
            assert not {n for n in _imports(path) if n.startswith("journeymine.cli")}, path.name


def test_no_print_in_library_code():
    for path in PKG.rglob("*.py"):
        if path.relative_to(PKG).parts[0] == "cli":
            continue
        calls = [n for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"print() in {path.relative_to(PKG)}"


def test_no_library_module_imports_pm4py():
    """pm4py is AGPL: the tests compare with it, the library must never import it."""
    offenders = [str(p.relative_to(PKG)) for p in PKG.rglob("*.py") if any(n.split(".")[0] == "pm4py" for n in _imports(p))]
    assert not offenders


def test_only_the_cli_and_the_facade_import_the_report():
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ("report", "cli") or rel == Path("__init__.py"):
            continue
        if any(n.startswith("journeymine.report") for n in _imports(path)):
            offenders.append(str(rel))
    assert not offenders


def test_the_report_imports_no_cli_and_queries_no_store():
    """Charts come from result objects: no ``.query(...)`` call in the report package."""
    for path in _modules("report"):
        assert not {n for n in _imports(path) if n.startswith("journeymine.cli")}, path.name
        calls = [n for n in ast.walk(ast.parse(path.read_text()))
                 if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == "query"]
        assert not calls, f"report/{path.name} runs SQL"
