"""One error tree: every error is a JourneymineError with a unique stable code and an HTTP-like status."""

from __future__ import annotations

import inspect

import journeymine as jm
from journeymine import errors


def _classes():
    return [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.JourneymineError)]


def test_codes_are_unique_and_snake_case():
    codes = [c.code for c in _classes()]
    assert len(codes) == len(set(codes))
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)
    assert set(errors.__all__) == {c.__name__ for c in _classes()}


def test_leaves_subclass_natural_builtins():
    assert issubclass(errors.SourceNotFoundError, FileNotFoundError)
    assert issubclass(errors.FormatError, ValueError)
    assert issubclass(errors.ConfigError, ValueError)


def test_json_shape():
    exc = errors.FormatError("file.xes is not XML")
    assert exc.to_dict() == {"ok": False, "error": "file.xes is not XML", "code": "format_error", "status": 422}
    assert jm.errors is errors
