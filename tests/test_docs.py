"""Documentation keeps up with the code (datasette's habit): every public name and CLI command has docs."""

from __future__ import annotations

from pathlib import Path

import journeymine as jm
from journeymine.cli import app

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_facade_name_is_documented():
    api = (DOCS / "api.md").read_text()
    missing = [name for name in jm.__all__ if f"jm.{name}" not in api]
    assert not missing, f"not in docs/api.md: {missing}"


def test_every_cli_command_is_documented():
    cli = (DOCS / "cli.md").read_text()
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert names and all(f"journeymine {n} " in cli for n in names), names
