"""jm.funnel: the issue's hand-checkable cases, every option against a brute-force reference, the
simulator's planted payment drop, and the result forms."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

import journeymine as jm
from journeymine.errors import ConfigError

T0 = dt.datetime(2024, 1, 1)


def store_of(rows, attrs: dict[str, list] | None = None) -> jm.Store:
    """rows: (actor, activity, seconds) in load order; attrs: extra attribute columns."""
    store = jm.connect(":memory:")
    df = pd.DataFrame({"customer": [r[0] for r in rows], "activity": [r[1] for r in rows],
                       "ts": [T0 + dt.timedelta(seconds=r[2]) for r in rows], **(attrs or {})})
    jm.read_frame(df, store, activity_col="activity", timestamp_col="ts", customer_col="customer",
                  attribute_cols=list(attrs or {}))
    return store


def depth(events, steps=("a", "b", "c"), window=10, **kw) -> int:
    f = jm.funnel(store_of([("u", e, t) for e, t in events]), list(steps), window=window, **kw)
    return sum(1 for s in f.steps if s.count)


@pytest.mark.parametrize(("events", "kw", "expected"), [
    ([("a", 0), ("b", 5), ("c", 10)], {}, 3),  # the window bound is inclusive
    ([("a", 0), ("b", 5), ("c", 11)], {}, 2),
    ([("a", 0), ("b", 0), ("c", 1)], {}, 1),  # a tie does not chain
    ([("b", 1), ("a", 2), ("c", 3)], {}, 1),
    ([("a", 0), ("a", 20), ("b", 21), ("c", 22)], {}, 1),  # entry=first: a@20 never restarts
    ([("a", 0), ("a", 20), ("b", 21), ("c", 22)], {"entry": "any"}, 3),
    ([("a", 0), ("c", 1), ("b", 2)], {}, 2),
    ([("a", 0), ("b", 4), ("b", 3), ("c", 4)], {}, 3),  # b@3 is the earliest b
])
def test_the_issues_hand_checked_cases(events, kw, expected):
    assert depth(events, **kw) == expected


def test_ties_allow_chains_in_load_order():
    assert depth([("a", 0), ("b", 0), ("c", 1)], ties="allow") == 3
    assert depth([("b", 0), ("a", 0), ("c", 1)], ties="allow") == 1  # b was loaded before a


def test_strict_order_needs_the_very_next_event():
    assert depth([("a", 0), ("b", 1), ("c", 2)], order="strict") == 3
    assert depth([("a", 0), ("x", 1), ("b", 2), ("c", 3)], order="strict") == 1
    assert depth([("a", 0), ("b", 1), ("a", 2), ("c", 3)], order="strict") == 2


def test_any_order_counts_distinct_steps_within_the_window():
    assert depth([("c", 0), ("a", 1), ("b", 2)], order="any_order") == 3
    assert depth([("c", 0), ("a", 1), ("b", 11)], order="any_order") == 2
    assert depth([("c", 0), ("c", 1)], order="any_order") == 1


def test_exclusion_between_entry_and_last_step_removes_the_actor():
    store = store_of([("u", "a", 0), ("u", "x", 1), ("u", "b", 2), ("v", "a", 0), ("v", "b", 2), ("v", "x", 3)])
    f = jm.funnel(store, ["a", "b"], window=10, exclusions=["x"])
    assert [s.count for s in f.steps] == [1, 1]  # u removed; v's x came after its last step
    assert f.actors.num_rows == 1


def test_times_counts_and_even_medians():
    rows = [("u1", "a", 0), ("u1", "b", 10), ("u2", "a", 0), ("u2", "b", 20), ("u3", "a", 5), ("u4", "b", 1)]
    f = jm.funnel(store_of(rows), ["a", "b"], window=60)
    s1, s2 = f.steps
    assert (s1.count, s2.count, s1.dropped, s2.dropped) == (3, 2, 1, 2)
    assert s2.conversion_from_start == pytest.approx(2 / 3) and s2.conversion_from_prev == pytest.approx(2 / 3)
    assert s2.median_seconds_from_start == 15.0 and s2.mean_seconds_from_prev == 15.0
    assert s2.conversion_from_prev_low < 2 / 3 < s2.conversion_from_prev_high
    assert f.actors_total == 4  # u4 has a step event but never entered
    assert sum(f.histogram_counts) == 2
    assert sorted(f.converted().ids(store_of(rows))) == ["u1", "u2"]


def test_steps_with_property_filters_and_breakdowns():
    rows = [("u1", "view", 0), ("u1", "buy", 5), ("u2", "view", 0), ("u2", "buy", 5), ("u3", "view", 0)]
    attrs = {"page": ["home", None, "sale", None, "home"], "pay": [None, "card", None, "paypal", None]}
    store = store_of(rows, attrs)
    f = jm.funnel(store, [{"event": "view", "where": {"page": "home"}}, "buy"], window=60)
    assert [s.count for s in f.steps] == [2, 1] and f.steps[0].name == "view [page=home]"
    f = jm.funnel(store, ["view", "buy"], window=60, breakdown="page")
    assert {v: [s.count for s in ss] for v, ss in f.groups.items()} == {"home": [2, 1], "sale": [1, 1]}
    f = jm.funnel(store, ["view", "buy"], window=60, breakdown="pay", attribution="last_touch")
    assert {v: [s.count for s in ss] for v, ss in f.groups.items()} == {"(none)": [1, 0], "card": [1, 1],
                                                                          "paypal": [1, 1]}
    f = jm.funnel(store, ["view", "buy"], window=60, breakdown="pay", attribution="step=2", breakdown_limit=1)
    assert list(f.groups) == ["(none)", "other"] and f.to_arrow().column_names[0] == "value"


def test_dropped_actors_are_a_reusable_segment():
    rows = [("u1", "a", 0), ("u1", "b", 1), ("u2", "a", 0), ("u3", "a", 0), ("u3", "c", 1)]
    store = store_of(rows)
    f = jm.funnel(store, ["a", "b"], window=60)
    dropped = f.dropped_after(1)
    assert sorted(dropped.ids(store)) == ["u2", "u3"]
    again = jm.funnel(store, ["a", "c"], window=60, actors=dropped)
    assert [s.count for s in again.steps] == [2, 1]
    with pytest.raises(ConfigError, match="k parameter"):
        f.dropped_after(3)


def test_derived_sessions_are_a_counting_unit():
    rows = [("u", "a", 0), ("u", "b", 60), ("u", "a", 4000), ("u", "x", 5000), ("u", "b", 7000)]
    f = jm.funnel(store_of(rows), ["a", "b"], window="1d", by="session")
    assert [s.count for s in f.steps] == [2, 1]  # 0-60 | 4000-5000 | 7000 (gap > 30 min)
    assert f.by == "session" and "session_start" in f.actors.column_names
    f = jm.funnel(store_of(rows), ["a", "b"], window="1d", by="customer")
    assert [s.count for s in f.steps] == [1, 1]


def test_events_without_an_actor_of_the_unit_are_ignored_and_counted():
    store = store_of([("u", "a", 0), ("u", "b", 1)])
    orphan = pd.DataFrame({"order": ["o1"], "activity": ["a"], "ts": [T0]})
    jm.read_frame(orphan, store, activity_col="activity", timestamp_col="ts", objects={"order": "order"})
    f = jm.funnel(store, ["a", "b"], window=60)
    assert f.ignored_rows == 1 and f.steps[0].count == 1


@pytest.mark.parametrize(("kw", "field"), [
    ({"entry": "last"}, "entry"), ({"order": "loose"}, "order"), ({"window": "7 parsecs"}, "window"),
    ({"window": -5}, "window"), ({"ties": "maybe"}, "ties"), ({"by": ""}, "by"),
    ({"breakdown": "page", "attribution": "step=9"}, "attribution"), ({"breakdown_limit": 0}, "breakdown_limit"),
    ({"start": "yesterday"}, "start"),
])
def test_bad_parameters_name_the_field(kw, field):
    store = store_of([("u", "a", 0)])
    with pytest.raises(ConfigError) as info:
        jm.funnel(store, ["a", "b"], **kw)
    assert info.value.context["field"] == field and field in str(info.value)


def test_steps_must_be_events():
    with pytest.raises(ConfigError, match="steps"):
        jm.funnel(store_of([("u", "a", 0)]), [])
    with pytest.raises(ConfigError, match="item 1"):
        jm.funnel(store_of([("u", "a", 0)]), ["a", 5])


# -- against a brute-force reference ---------------------------------------------------------------------
def reference(events, steps, window, entry, order, ties):
    """Depth of one actor's (type, time) list (load order), straight from the semantics."""
    if order == "any_order":
        starts = [i for i, (e, _) in enumerate(events) if e in steps]
        starts = starts[:1] if entry == "first" else starts
        best = 0
        for i in starts:
            t1 = events[i][1]
            done = {k for k, s in enumerate(steps) for e, t in events if e == s and t1 <= t <= t1 + window}
            best = max(best, len(done))
        return best
    starts = [i for i, (e, _) in enumerate(events) if e == steps[0]]
    starts = starts[:1] if entry == "first" else starts
    best = 0
    for i in starts:
        t1, prev, d = events[i][1], i, 1
        for s in steps[1:]:
            if order == "strict":
                j = prev + 1
                nxt = j if (j < len(events) and events[j][0] == s and events[j][1] - t1 <= window
                            and (ties == "allow" or events[j][1] > events[prev][1])) else None
            else:
                later = [j for j in range(len(events)) if events[j][0] == s and events[j][1] - t1 <= window
                         and (events[j][1] > events[prev][1] or (ties == "allow" and events[j][1] == events[prev][1]
                                                                 and j > prev))]
                nxt = min(later, key=lambda j: (events[j][1], j)) if later else None
            if nxt is None:
                break
            prev, d = nxt, d + 1
        best = max(best, d)
    return best


@pytest.mark.parametrize("seed", [1, 2])
def test_every_mode_matches_a_brute_force_reference(seed):
    rnd = random.Random(seed)
    rows = []
    for u in range(60):
        t = 0
        for _ in range(rnd.randint(1, 12)):
            t += rnd.choice([0, 0, 1, 2, 5, 9])
            rows.append((f"u{u:02d}", rnd.choice("abcx"), t))
    store = store_of(rows)
    by_actor: dict[str, list] = {}
    for u, e, t in rows:
        by_actor.setdefault(u, []).append((e, t))
    for actor_events in by_actor.values():
        actor_events.sort(key=lambda et: et[1])  # stable: ties keep load order
    for steps, entry, order, ties in itertools.product(
            [("a", "b", "c"), ("a", "b", "a"), ("b", "x")], ("first", "any"), ("ordered", "strict", "any_order"),
            ("strict", "allow")):
        if order == "any_order" and ties == "allow":
            continue
        f = jm.funnel(store, list(steps), window=10, entry=entry, order=order, ties=ties)
        depths = [reference(ev, steps, 10, entry, order, ties) for ev in by_actor.values()]
        expected = [sum(d >= k for d in depths) for k in range(1, len(steps) + 1)]
        assert [s.count for s in f.steps] == expected, (steps, entry, order, ties)


# -- the simulator: the planted payment drop ---------------------------------------------------------------
CHECKOUT = ["checkout address", "checkout delivery", "checkout payment", "order placed"]


def test_checkout_funnel_equals_a_pandas_recount(company):
    f = jm.funnel(company.store, CHECKOUT, window="1h", by="object:session")
    raw = company.store.query("""
        SELECT o.id AS session, e.type, e.time FROM event e JOIN event_object eo ON eo.event_code = e.code
        JOIN object o ON o.code = eo.object_code WHERE o.type = 'session' AND e.type IN ($a, $b, $c, $d)
        """, dict(zip("abcd", CHECKOUT))).to_pandas()
    first = raw.pivot_table(index="session", columns="type", values="time", aggfunc="min")
    ok = first[CHECKOUT[0]].notna()
    counts = [int(ok.sum())]
    for prev, step in itertools.pairwise(CHECKOUT):
        ok &= (first[step] > first[prev]) & (first[step] - first[CHECKOUT[0]] <= pd.Timedelta("1h"))
        counts.append(int(ok.sum()))
    assert [s.count for s in f.steps] == counts


def test_the_planted_payment_drop_is_at_the_payment_step_with_its_magnitude(company):
    f = jm.funnel(company.store, CHECKOUT, window="1h", by="object:session")
    drops = [1 - s.conversion_from_prev for s in f.steps[1:]]
    units = company.truth.unit_table("slow_payment", "abandoned at payment | payment step reached")
    planted = pc.mean(units["with_effect"]).as_py()  # expected abandonment at payment, slow ones included
    assert units.num_rows == f.steps[2].count  # the truth's units are the sessions reaching payment
    pay = f.steps[3]
    assert pay.conversion_from_prev_low <= 1 - planted <= pay.conversion_from_prev_high
    without = company.truth.effect("slow_payment")["mean_untreated"]
    assert 1 - pay.conversion_from_prev_high > without  # more than the 10 % base drop: the effect shows
    assert drops[2] > drops[1]


def test_result_forms(small):
    f = jm.funnel(small.store, CHECKOUT, window="1h", by="object:session", breakdown="channel")
    d = json.loads(f.to_json())
    assert set(d) >= {"steps", "window_seconds", "entry", "actors_total", "ignored_rows", "histogram", "breakdown"}
    assert set(d["steps"][0]) >= {"name", "count", "conversion_from_start", "conversion_from_prev",
                                  "median_seconds_from_start", "median_seconds_from_prev"}
    assert d["window_seconds"] == 3600.0 and d["entry"] == "first"
    frame = f.to_pandas()
    assert set(frame["value"]) == {"web", "app"} and len(frame) == 8
    assert f.actors.column("depth").to_numpy().max() <= 4
    assert np.all(np.diff([s.count for s in f.steps]) <= 0)


@pytest.mark.parametrize(("entry", "order"), [("any", "ordered"), ("first", "ordered"), ("any", "strict"),
                                              ("first", "any_order")])
def test_the_kernel_runs_on_parts_of_whole_actors(company, entry, order):
    """What lets Spark run it per partition: any split at actor boundaries gives the same chains."""
    from journeymine.journeys._funnel import _match_chains
    from journeymine.journeys._steps import match, parse_steps
    from journeymine.journeys._units import load, parse_unit

    steps = parse_steps(["page viewed", "product viewed", "added to cart", "order placed"])
    seqs = load(company.store, parse_unit("session"), types=None if order == "strict" else [s.event for s in steps])
    masks = [match(seqs, s) for s in steps]
    whole = _match_chains(seqs, masks, entry, order, "strict", 2 * 86400 * 10**6)
    cuts = [0, *(int(np.searchsorted(seqs.actor, seqs.actor[seqs.n * i // 7])) for i in range(1, 7)), seqs.n]
    parts = [_match_chains(seqs.take(np.arange(lo, hi)), [m[lo:hi] for m in masks], entry, order, "strict",
                           2 * 86400 * 10**6) for lo, hi in itertools.pairwise(cuts)]
    assert sum(p[4] for p in parts) == whole[4] == seqs.n_actors
    assert np.array_equal(np.concatenate([p[1] for p in parts]), whole[1])  # depths
    assert np.array_equal(np.concatenate([p[2] for p in parts], axis=1), whole[2])  # step times
    assert np.array_equal(np.concatenate([p[0] + lo for p, lo in zip(parts, cuts)]), whole[0])  # start rows
    assert whole[1].max() >= 2
