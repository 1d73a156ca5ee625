"""Reference models for ``jm.check_conformance``: allowed directly-follows relations and declarative rules.

A :class:`ReferenceModel` has two parts, each optional (a part left out is not checked):

- **the DFG part**: ``start`` (activities a case may start with), ``end`` (activities it may end
  with), ``edges`` (allowed ``[source, target]`` pairs of consecutive events) and ``activities``
  (further activities that are allowed although no edge names them). The model's *alphabet* is
  ``activities`` with every activity of ``start``, ``end`` and ``edges``; it is checked (an event of an
  activity outside it is an "unknown activity") when ``edges`` or ``activities`` is given.
- **rules** (:class:`Rule`), Declare templates: ``precedence`` (A must precede B), ``response`` (A is
  responded by B, optionally ``within`` a duration), ``not_coexist`` (never A and B in one case),
  ``at_most_once`` (A), ``existence`` (A at least once) and ``init`` (the case starts with A).

A model is written in TOML or JSON, with the same keys (``name`` and ``object_type`` are optional
notes; ``object_type`` is the type checked when the caller names none)::

    name = "orders"
    start = ["order placed"]
    end = ["delivered", "picked up in store"]
    edges = [["order placed", "fraud check completed"], ...]

    [[rules]]
    type = "response"
    a = "shipped"
    b = "delivered"
    within = "14d"

:func:`read_model` reads a file (``.toml`` or ``.json``), :meth:`ReferenceModel.write` writes one,
:func:`derive_model` builds the DFG part from the most frequent variants of a log. A malformed file
raises :class:`~journeymine.errors.ConfigError` naming the file, the key and the problem.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

from ..errors import ConfigError
from ..store import Store
from ..timespan import parse_duration
from ._variants import variants
from ._view import ProcessView

__all__ = ["RULE_TYPES", "ReferenceModel", "Rule", "derive_model", "read_model"]

PAIR_RULES = ("precedence", "response", "not_coexist")
SINGLE_RULES = ("at_most_once", "existence", "init")
RULE_TYPES = PAIR_RULES + SINGLE_RULES
_MODEL_KEYS = ("name", "object_type", "activities", "start", "end", "edges", "rules")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def _fail(where: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{where}: {key} {problem}", field="model", key=key)


def _name(value: object, where: str, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, key, f"must be an activity name (non-empty text). Got {value!r} instead.")
    return value


def _names(value: object, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise _fail(where, key, f"must be a list of activity names. Got {value!r} instead.")
    items = sorted(value) if isinstance(value, (set, frozenset)) else value
    return tuple(_name(v, where, f"{key}[{i}]") for i, v in enumerate(items))


def duration_text(seconds: float) -> str:
    """``seconds`` in the largest unit that divides it (``"14d"``, ``"90m"``), else in seconds."""
    for unit, size in _UNITS:
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"


@dataclasses.dataclass(frozen=True)
class Rule:
    """One declarative rule: ``type`` (one of :data:`RULE_TYPES`), activity ``a``, activity ``b``
    for the pair rules (``precedence``, ``response``, ``not_coexist``) and, for ``response`` only,
    ``within_seconds`` (``None``: any time later)."""

    type: str
    a: str
    b: str | None = None
    within_seconds: float | None = None

    def __post_init__(self) -> None:
        where = f"rule {self.type!r}"
        if self.type not in RULE_TYPES:
            raise _fail("model", "rules.type", f"must be one of {', '.join(RULE_TYPES)}. Got {self.type!r} instead.")
        _name(self.a, where, "a")
        if self.type in PAIR_RULES:
            _name(self.b, where, "b")
        elif self.b is not None:
            raise _fail(where, "b", f"is not allowed: {self.type} takes one activity, a. Got {self.b!r}.")
        if self.type in PAIR_RULES and self.a == self.b:
            raise _fail(where, "b", f"must differ from a (a rule relates two activities). Got {self.b!r} for both.")
        if self.within_seconds is not None:
            if self.type != "response":
                raise _fail(where, "within", "is only allowed on response rules.")
            object.__setattr__(self, "within_seconds", parse_duration(self.within_seconds, "within"))

    @property
    def label(self) -> str:
        """The rule in words, as violations name it."""
        a, b = f"'{self.a}'", f"'{self.b}'"
        return {
            "precedence": f"{a} must precede {b}",
            "response": f"{a} must be responded by {b}" + (
                "" if self.within_seconds is None else f" within {duration_text(self.within_seconds)}"),
            "not_coexist": f"{a} and {b} must not coexist",
            "at_most_once": f"{a} at most once",
            "existence": f"{a} must occur",
            "init": f"case must start with {a}",
        }[self.type]

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"type": self.type, "a": self.a}
        if self.b is not None:
            out["b"] = self.b
        if self.within_seconds is not None:
            out["within"] = duration_text(self.within_seconds)
        return out


def _rule(raw: object, where: str, key: str) -> Rule:
    if not isinstance(raw, dict):
        raise _fail(where, key, f"must be a table with type, a and b. Got {raw!r} instead.")
    kind = raw.get("type")
    if kind not in RULE_TYPES:
        raise _fail(where, f"{key}.type", f"must be one of {', '.join(RULE_TYPES)}. Got {kind!r} instead.")
    allowed = ("type", "a", "b", "within") if kind == "response" else (
        ("type", "a", "b") if kind in PAIR_RULES else ("type", "a"))
    for k in raw:
        if k not in allowed:
            raise _fail(where, f"{key}.{k}", f"is not a key of a {kind} rule (allowed: {', '.join(allowed)}).")
    for k in allowed[1:3]:
        if k not in raw:
            raise _fail(where, f"{key}.{k}", f"is missing: a {kind} rule needs {' and '.join(allowed[1:3])}.")
        _name(raw[k], where, f"{key}.{k}")
    if kind in PAIR_RULES and raw["a"] == raw["b"]:
        raise _fail(where, f"{key}.b", f"must differ from a (a rule relates two activities). Got {raw['b']!r} for both.")
    within = raw.get("within")
    if within is not None:
        try:
            within = parse_duration(within, "within")
        except ConfigError as exc:
            raise _fail(where, f"{key}.within", f"must be a positive duration such as '7d' or '12h'. "
                                                f"Got {raw['within']!r} instead.") from exc
    return Rule(kind, raw["a"], raw.get("b"), within)


@dataclasses.dataclass(frozen=True)
class ReferenceModel:
    """A reference model (semantics in the module docs). ``None`` for a DFG part: not checked."""

    start: tuple[str, ...] | None = None
    end: tuple[str, ...] | None = None
    edges: tuple[tuple[str, str], ...] | None = None
    activities: tuple[str, ...] | None = None
    rules: tuple[Rule, ...] = ()
    name: str | None = None
    object_type: str | None = None

    def __post_init__(self) -> None:
        for key in ("start", "end", "activities"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, _names(value, "model", key))
        if self.edges is not None:
            if isinstance(self.edges, str) or not isinstance(self.edges, (list, tuple)):
                raise _fail("model", "edges", f"must be a list of [source, target] pairs. Got {self.edges!r} instead.")
            pairs = []
            for i, e in enumerate(self.edges):
                if isinstance(e, str) or not isinstance(e, (list, tuple)) or len(e) != 2:
                    raise _fail("model", f"edges[{i}]", f"must be a [source, target] pair. Got {e!r} instead.")
                pairs.append((_name(e[0], "model", f"edges[{i}][0]"), _name(e[1], "model", f"edges[{i}][1]")))
            object.__setattr__(self, "edges", tuple(pairs))
        if not all(isinstance(r, Rule) for r in self.rules):
            raise _fail("model", "rules", "must be Rule objects.")
        object.__setattr__(self, "rules", tuple(self.rules))
        for key in ("name", "object_type"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value):
                raise _fail("model", key, f"must be non-empty text. Got {value!r} instead.")

    @property
    def alphabet(self) -> frozenset[str] | None:
        """The activities the model knows, or ``None`` when it does not restrict them (no edges or
        activities given)."""
        if self.edges is None and self.activities is None:
            return None
        return frozenset((self.activities or ()) + (self.start or ()) + (self.end or ())
                         + tuple(a for e in (self.edges or ()) for a in e))

    @classmethod
    def from_dict(cls, data: object, where: str = "model") -> ReferenceModel:
        """A model from its dict form (what :meth:`to_dict` gives, a parsed TOML or JSON file);
        ``where`` names the source in error messages."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: a model must be a table (mapping) of {', '.join(_MODEL_KEYS)}. "
                              f"Got {type(data).__name__} instead.", field="model")
        for k in data:
            if k not in _MODEL_KEYS:
                raise _fail(where, str(k), f"is not a model key (allowed: {', '.join(_MODEL_KEYS)}).")
        parts: dict[str, object] = {}
        for key in ("start", "end", "activities"):
            if key in data:
                parts[key] = _names(data[key], where, key)
        if "edges" in data:
            edges = data["edges"]
            if isinstance(edges, str) or not isinstance(edges, list):
                raise _fail(where, "edges", f"must be a list of [source, target] pairs. Got {edges!r} instead.")
            for i, e in enumerate(edges):
                if not isinstance(e, list) or len(e) != 2:
                    raise _fail(where, f"edges[{i}]", f"must be a [source, target] pair. Got {e!r} instead.")
                _names(e, where, f"edges[{i}]")
            parts["edges"] = tuple((e[0], e[1]) for e in edges)
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            raise _fail(where, "rules", f"must be a list of rule tables. Got {rules!r} instead.")
        parts["rules"] = tuple(_rule(r, where, f"rules[{i}]") for i, r in enumerate(rules))
        for key in ("name", "object_type"):
            if key in data:
                if not isinstance(data[key], str) or not data[key]:
                    raise _fail(where, key, f"must be non-empty text. Got {data[key]!r} instead.")
                parts[key] = data[key]
        return cls(**parts)

    def to_dict(self) -> dict[str, object]:
        """The JSON form: only the parts the model has."""
        out: dict[str, object] = {k: getattr(self, k) for k in ("name", "object_type") if getattr(self, k)}
        for key in ("activities", "start", "end"):
            if getattr(self, key) is not None:
                out[key] = list(getattr(self, key))
        if self.edges is not None:
            out["edges"] = [list(e) for e in self.edges]
        if self.rules:
            out["rules"] = [r.to_dict() for r in self.rules]
        return out

    def to_toml(self) -> str:
        """The model as TOML text (what :meth:`write` writes for a ``.toml`` path)."""
        d = self.to_dict()
        lines = [f"{k} = {_toml_value(v)}" for k, v in d.items() if k not in ("edges", "rules")]
        if "edges" in d:
            lines.append("edges = [" + "".join(f"\n    {_toml_value(e)}," for e in d["edges"]) + "\n]")
        for rule in d.get("rules", []):
            lines += ["", "[[rules]]"] + [f"{k} = {_toml_value(v)}" for k, v in rule.items()]
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write the model to ``path`` as TOML (``.toml``) or JSON (``.json``)."""
        path = Path(path)
        if path.suffix.lower() == ".toml":
            path.write_text(self.to_toml(), encoding="utf-8")
        elif path.suffix.lower() == ".json":
            path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            raise ConfigError(f"The path parameter must end in .toml or .json. Got {str(path)!r} instead.",
                              field="path")
        return path


def _toml_value(value: object) -> str:
    if isinstance(value, str):  # a JSON string is a TOML basic string, once DEL is escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


def read_model(path: str | Path) -> ReferenceModel:
    """Read a reference model from a ``.toml`` or ``.json`` file (keys in the module docs).

    >>> import journeymine as jm
    >>> model = jm.read_model("docs/examples/order-model.toml")
    >>> model.start, model.rules[0].label
    (('order placed',), "'order placed' must precede 'fraud check completed'")
    """
    path = Path(path)
    where = path.name
    if path.suffix.lower() not in (".toml", ".json"):
        raise ConfigError(f"The model file must end in .toml or .json. Got {str(path)!r} instead.", field="model")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"The model file {str(path)!r} does not exist.", field="model") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot be read ({exc}).", field="model") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{where}: not valid {path.suffix[1:].upper()} ({exc}).", field="model") from None
    return ReferenceModel.from_dict(data, where)


def as_model(model: object) -> ReferenceModel:
    """A :class:`ReferenceModel` from a model, a path to a model file or a dict."""
    if isinstance(model, ReferenceModel):
        return model
    if isinstance(model, (str, Path)):
        return read_model(model)
    if isinstance(model, dict):
        return ReferenceModel.from_dict(model)
    raise ConfigError(f"The model parameter must be a ReferenceModel, a path to a .toml or .json file or a dict. "
                      f"Got {type(model).__name__} instead.", field="model")


def derive_model(source: Store | ProcessView, object_type: str | None = None, *, top_variants: int | None = None,
                 coverage: float | None = None) -> ReferenceModel:
    """A DFG model of the most frequent variants: the start and end activities, edges and
    activities of the ``top_variants`` most frequent variants (or of those covering ``coverage`` of
    the cases; all variants when both are ``None``); no rules. Variants are ranked as
    :func:`~journeymine.variants` ranks them (ties: the variant whose first case comes first).

    Every case of those variants fits the model; a case of another variant fits it only if it uses
    no other start, end, edge or activity.

    >>> import journeymine as jm
    >>> store = jm.connect(":memory:")
    >>> _ = jm.read_csv("data/running-example/running-example.csv", store, activity_col="concept:name",
    ...                 timestamp_col="time:timestamp", case_col="case:concept:name")
    >>> model = jm.derive_model(store, top_variants=2)
    >>> model.start, len(model.edges)
    (('register request',), 10)
    """
    table = variants(source, object_type, top=top_variants, coverage=coverage)
    seqs = table.table.column("variant").to_pylist()
    edges = sorted({(s[i], s[i + 1]) for s in seqs for i in range(len(s) - 1)})
    cut = (f"top {top_variants} variants" if top_variants is not None else
           f"variants covering {coverage * 100:g}% of cases" if coverage is not None else "all variants")
    return ReferenceModel(start=tuple(sorted({s[0] for s in seqs})), end=tuple(sorted({s[-1] for s in seqs})),
                          edges=tuple(edges), activities=tuple(sorted({a for s in seqs for a in s})),
                          name=f"{cut} of {table.object_type}", object_type=table.object_type)
