"""Reference models: TOML/JSON round trips, clear errors for malformed files, models from top variants."""

from __future__ import annotations

import json
import tomllib

import pytest

import journeymine as jm
from journeymine.errors import ConfigError
from journeymine.processes._conformance import check_conformance
from journeymine.processes._model import ReferenceModel, Rule, derive_model, read_model

ODD = 'he said "hi" \\ back\tslash\nnew line é \x7f end'  # quotes, backslash, controls, DEL, non-ASCII

MODEL = ReferenceModel(
    start=("order placed",), end=("delivered", ODD), edges=(("order placed", "shipped"), ("shipped", ODD)),
    activities=("email sent",), name="orders", object_type="order",
    rules=(Rule("precedence", "order placed", "shipped"), Rule("response", "shipped", ODD, within_seconds=1.5 * 86400),
           Rule("response", "shipped", "delivered", within_seconds=0.25), Rule("not_coexist", "a", "b"),
           Rule("at_most_once", "order placed"), Rule("existence", "shipped"), Rule("init", "order placed")))


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_round_trip_through_files(tmp_path, suffix):
    path = MODEL.write(tmp_path / f"model{suffix}")
    assert read_model(path) == MODEL
    assert ReferenceModel.from_dict(MODEL.to_dict()) == MODEL
    partial = ReferenceModel(end=("x",))
    assert read_model(partial.write(tmp_path / f"partial{suffix}")) == partial and partial.to_dict() == {"end": ["x"]}


def test_toml_text_is_what_tomllib_reads():
    text = MODEL.to_toml()
    assert tomllib.loads(text) == json.loads(json.dumps(MODEL.to_dict()))
    assert 'within = "36h"' in text and 'within = "0.25s"' in text and "[[rules]]" in text
    assert MODEL.rules[1].label.endswith("within 36h") and MODEL.alphabet == {"order placed", "delivered", ODD,
                                                                              "shipped", "email sent"}


def test_the_example_model_reads():
    model = read_model("docs/examples/order-model.toml")
    assert model.object_type == "order" and model.start == ("order placed",) and len(model.rules) == 6
    assert {r.type for r in model.rules} == {"precedence", "response", "not_coexist", "at_most_once"}
    assert model.rules[2].within_seconds == 7 * 86400


BAD = [  # (file text, words the message must contain)
    ('start = "a"', ["start", "list of activity names"]),
    ("start = [1]", ["start[0]", "activity name"]),
    ('edge = [["a", "b"]]', ["edge", "not a model key", "edges"]),
    ('edges = [["a", "b", "c"]]', ["edges[0]", "pair"]),
    ('edges = [["a", 2]]', ["edges[0][1]", "activity name"]),
    ('[[rules]]\ntype = "precedes"\na = "x"\nb = "y"', ["rules[0].type", "precedence, response"]),
    ('[[rules]]\ntype = "precedence"\na = "x"', ["rules[0].b", "missing"]),
    ('[[rules]]\ntype = "at_most_once"\na = "x"\nb = "y"', ["rules[0].b", "not a key"]),
    ('[[rules]]\ntype = "response"\na = "x"\nb = "y"\nwithin = "soon"', ["rules[0].within", "duration"]),
    ('[[rules]]\ntype = "precedence"\na = "x"\nb = "y"\nwithin = "1d"', ["rules[0].within", "not a key"]),
    ('[[rules]]\ntype = "not_coexist"\na = "x"\nb = "x"', ["rules[0].b", "must differ"]),
    ('rules = {type = "init"}', ["rules", "list of rule tables"]),
    ("start = [", ["not valid TOML"]),
]


@pytest.mark.parametrize("text, words", BAD)
def test_malformed_toml_names_file_key_and_problem(tmp_path, text, words):
    path = tmp_path / "bad-model.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_model(path)
    assert info.value.message.startswith("bad-model.toml: ") and info.value.context["field"] == "model"
    assert all(w in info.value.message for w in words), info.value.message


def test_malformed_json_and_other_files(tmp_path):
    (tmp_path / "m.json").write_text('{"start": ["a"], "rules": [{"type": "init"}]}')
    with pytest.raises(ConfigError, match=r"m\.json: rules\[0\]\.a is missing"):
        read_model(tmp_path / "m.json")
    (tmp_path / "list.json").write_text('[1, 2]')
    with pytest.raises(ConfigError, match=r"list\.json: a model must be a table"):
        read_model(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text('{"start": ')
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_model(tmp_path / "broken.json")
    with pytest.raises(ConfigError, match="does not exist"):
        read_model(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        read_model(tmp_path / "model.yaml")
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        MODEL.write(tmp_path / "model.txt")


def test_objects_validate_too():
    with pytest.raises(ConfigError, match="must be one of"):
        Rule("succession", "a", "b")
    with pytest.raises(ConfigError, match="b is not allowed"):
        Rule("existence", "a", "b")
    with pytest.raises(ConfigError, match="within is only allowed"):
        Rule("precedence", "a", "b", within_seconds=5)
    with pytest.raises(ConfigError, match="positive duration"):
        Rule("response", "a", "b", within_seconds=0)
    with pytest.raises(ConfigError, match=r"edges\[0\]"):
        ReferenceModel(edges=[("a",)])
    assert Rule("response", "a", "b", within_seconds="2h").within_seconds == 7200
    assert ReferenceModel(start=["b", "a"]).start == ("b", "a") and ReferenceModel(end={"b", "a"}).end == ("a", "b")


def test_derived_model_fits_the_top_variants_and_nothing_with_new_edges():
    sim = jm.simulate(customers=1500, days=50, seed=3)
    v = jm.variants(sim.store, "order", top=4)
    model = derive_model(sim.store, "order", top_variants=4)
    assert model.rules == () and model.object_type == "order" and model.name == "top 4 variants of order"
    top = [tuple(x) for x in v.table.column("variant").to_pylist()]
    assert set(model.edges) == {(s[i], s[i + 1]) for s in top for i in range(len(s) - 1)}
    assert set(model.start) == {s[0] for s in top} and set(model.end) == {s[-1] for s in top}
    result = check_conformance(sim.store, model)  # the model's object type
    assert result.object_type == "order"
    view = jm.process_view(sim.store, "order")
    c = view.cases
    variant = {}
    for cid, lo, hi in zip(c.ids(sim.store).to_pylist(), c.starts, c.ends):
        variant[cid] = tuple(c.names[a] for a in c.activity[lo:hi])
    rows = result.table.to_pylist()
    assert all(r["fits"] for r in rows if variant[r["case_id"]] in top)
    assert result.fitting >= sum(v.table.column("cases").to_pylist())
    edges = set(model.edges)
    for r in rows:  # outside the top variants: fits exactly when nothing new is used
        s = variant[r["case_id"]]
        new = (s[0] not in model.start or s[-1] not in model.end or not set(s) <= set(model.activities)
               or any((s[i], s[i + 1]) not in edges for i in range(len(s) - 1)))
        assert r["fits"] == (not new)
    assert result.cases - result.fitting > 0
    covered = derive_model(sim.store, "order", coverage=0.5)
    assert covered.name == "variants covering 50% of cases of order"
    assert check_conformance(sim.store, covered).fitness >= 0.5  # the cases of those variants fit
    everything = derive_model(view)
    assert check_conformance(view, everything).fitness == 1.0
