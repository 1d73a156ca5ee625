"""Order handling: fraud check, picking, packing, shipping, delivery (or click & collect), returns.

Mechanics:

- **Picking** waits in a queue: log-normal around a median of working hours (effect 5: lower from its
  day on, in its warehouses or all of them), multiplied by the warehouse load of the order's day
  (``0.65 / (1 - min(0.35 * traffic, 0.9))`` with traffic the day's weekday weight times 2 in the sale
  week over the mean weekday weight, so the sale week slows it down), then picking and packing take minutes of working time. Carriers collect at
  18:00; transit is ``base + X`` with ``base`` 1 day standard, 0 days express and ``X`` log-normal
  (median 14 h); 7 % of first attempts fail and the parcel comes a day later.
- **Promise**: end of the day ``order day + 3 + base`` (standard: day + 4, express: day + 3); late =
  delivered after it. Express is promised exactly as much sooner as it is faster, so its chance of
  being late equals standard's (effect 4).
- **Click & collect**: the parcel goes to the region's store (about 16 h after the carrier collects;
  late if ready after the end of order day + 3) and is picked up there.
- **Fraud check** (effect 7, null): starts with the order, duration log-normal with a wide sigma, runs
  beside picking; nothing downstream depends on it.
- **Churn** (effect 2): after each delivery the customer stops coming back with probability
  ``0.04 + churn_increase * late``; their later sessions and orders never happen.
- **Returns**: per order with the persona's return rate: requested, received, refund issued.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

from ._chunk import Chunk
from ._clock import DAY, HOUR, MINUTE, SECOND, ids, lognormal
from ._web import METHODS, SHIPPING, WEEKDAY, People, Sessions, catalog, payment_ids

__all__ = ["Orders", "emit_orders", "make_orders"]

BASE_DAYS = np.array([1, 0, 0])  # transit base by shipping: standard, express, click & collect
PROMISE_DAYS = 3
P_FAIL, BASE_CHURN = 0.07, 0.04
REPEAT_DAYS = 30


@dataclasses.dataclass
class Orders:
    session: np.ndarray  # session row of each order
    person: np.ndarray
    rank: np.ndarray  # 0 = the person's first order
    time: np.ndarray
    shipping: np.ndarray
    ids: pa.Array
    steps: dict  # fulfilment times
    late: np.ndarray
    done: np.ndarray  # delivered, or picked up in store
    noise: dict


def _fulfil(c: Chunk, t: np.ndarray, shipping: np.ndarray, z: dict, faster: np.ndarray | bool) -> dict:
    """Fulfilment times; ``faster``: whether effect 5 reaches the order's warehouse (from its day on)."""
    clock, fx = c.clock, c.world.effects.faster_picking
    day = clock.day_index(t)
    changed = np.asarray(faster) & fx.enabled & (day >= fx.day)
    traffic = WEEKDAY[clock.weekday(t)] * np.where((day >= c.world.sale_days[0]) & (day < c.world.sale_days[1]), 2.0, 1.0)
    load = 0.65 / (1 - np.minimum(0.35 * traffic / WEEKDAY.mean(), 0.9))
    median = np.where(changed, fx.median_hours_after, fx.median_hours_before) * HOUR
    wait = median * load * np.exp(0.8 * z["pick"])
    pick_start = clock.add_work(t, wait)
    pick_done = clock.add_work(pick_start, z["pick_minutes"] * MINUTE)
    pack_done = clock.add_work(pick_done, z["pack_minutes"] * MINUTE)
    shipped = clock.next_pickup(pack_done)
    arrival = shipped + (BASE_DAYS[shipping] * DAY + z["transit"] * HOUR).astype(np.int64)
    failed = (z["fail"] < P_FAIL) & (shipping != 2)
    delivered = arrival + failed * DAY
    promise = clock.end_of_day(t, PROMISE_DAYS + BASE_DAYS[shipping])
    ready = shipped + (z["to_store"] * HOUR).astype(np.int64)
    collect = shipping == 2
    late = np.where(collect, ready > promise, delivered > promise)
    done = np.where(collect, ready + (z["pickup"] * HOUR).astype(np.int64), delivered)
    return {"pick_start": pick_start, "pick_done": pick_done, "pack_done": pack_done, "shipped": shipped,
            "arrival": arrival, "failed": failed, "delivered": delivered, "promise": promise, "ready": ready,
            "late": late, "done": done, "changed": changed}


def _warehouse_changes(c: Chunk, p: People, person: np.ndarray) -> np.ndarray:
    """Whether effect 5 reaches each order's warehouse (its region's; no warehouses named: all)."""
    w = c.world
    named = w.effects.faster_picking.warehouses
    if not named:
        return np.ones(person.size, bool)
    return np.isin(np.array(w.warehouses)[p.region[person] % len(w.warehouses)], list(named))


def make_orders(c: Chunk, p: People, s: Sessions) -> Orders:
    """Orders from converting sessions, with churn after late deliveries cutting later sessions."""
    rng, fx = c.rng, c.world.effects
    conv = np.flatnonzero(s.converted)  # sessions are sorted by person, time
    person = s.person[conv]
    first = np.r_[True, person[1:] != person[:-1]] if conv.size else np.zeros(0, bool)
    idx = np.arange(conv.size)
    rank = idx - np.maximum.accumulate(np.where(first, idx, 0))
    n = conv.size
    z = {"pick": rng.standard_normal(n), "pick_minutes": lognormal(rng, 12, 0.5, n),
         "pack_minutes": lognormal(rng, 15, 0.5, n), "transit": lognormal(rng, 14, 0.5, n), "fail": rng.random(n),
         "to_store": lognormal(rng, 16, 0.4, n), "pickup": lognormal(rng, 30, 0.7, n), "churn": rng.random(n)}
    t, shipping = s.t_order[conv], s.shipping[conv]
    f = _fulfil(c, t, shipping, z, faster=_warehouse_changes(c, p, person))
    inc = fx.late_delivery.churn_increase if fx.late_delivery.enabled else 0.0
    churn = z["churn"] < BASE_CHURN + inc * f["late"]
    alive = np.zeros(n, bool)
    cutoff = p.cutoff
    for k in range(int(rank.max()) + 1 if n else 0):
        sel = np.flatnonzero((rank == k) & (s.start[conv] < cutoff[person]))
        alive[sel] = True
        gone = sel[churn[sel]]
        np.minimum.at(cutoff, person[gone], f["done"][gone])
    keep = np.flatnonzero(alive)
    o = Orders(session=conv[keep], person=person[keep], rank=rank[keep], time=t[keep], shipping=shipping[keep],
               ids=ids("O", c.index * 10**7 + np.arange(keep.size), 9),
               steps={k: v[keep] for k, v in f.items()}, late=f["late"][keep], done=f["done"][keep],
               noise={k: v[keep] for k, v in z.items()})
    _truth(c, p, s, o, z, f, conv, rank, inc)
    return o


def _truth(c: Chunk, p: People, s: Sessions, o: Orders, z: dict, f: dict, conv, rank, inc) -> None:
    fx = c.world.effects
    # effect 5: orders it reached (from its day on, in its warehouses), late with and without the change
    if fx.faster_picking.enabled:
        rows = np.flatnonzero(o.steps["changed"])
        before = _fulfil(c, o.time[rows], o.shipping[rows], {k: v[rows] for k, v in o.noise.items()}, faster=False)
        reached = o.ids.take(pa.array(rows))
        c.truth.add("faster_picking", "order", reached, np.ones(rows.size, bool), before["late"], o.late[rows],
                    kpi="late delivery")
        o.steps["late_without_change"] = np.zeros(o.time.size, bool)
        o.steps["late_without_change"][rows] = before["late"]
        home = (o.shipping[rows] != 2) & (o.steps["delivered"][rows] < c.clock.end)
        hours = [(d[home] - o.time[rows][home]) / HOUR for d in (before["delivered"], o.steps["delivered"][rows])]
        c.truth.add("faster_picking", "order", reached.filter(pa.array(home)), np.ones(int(home.sum()), bool),
                    *hours, kpi="hours from order placed to delivered")
    # repeat purchase: first orders with a full window; the next order is lost when the customer churns
    # after the first delivery (effect 2) and its session starts after that delivery
    window = REPEAT_DAYS * DAY
    firsts = np.flatnonzero(rank == 0)
    nxt = np.full(conv.size, np.iinfo(np.int64).max)  # the next order's session start
    nxt_order = nxt.copy()  # and its order time
    has_next = np.r_[rank[1:] == rank[:-1] + 1, False] if conv.size else np.zeros(0, bool)
    nxt[has_next] = s.start[conv][np.flatnonzero(has_next) + 1]
    nxt_order[has_next] = s.t_order[conv][np.flatnonzero(has_next) + 1]
    t1 = s.t_order[conv]
    ok = firsts[t1[firsts] + window <= c.clock.end]
    in_window = nxt[ok] <= t1[ok] + window
    before_done = nxt[ok] < f["done"][ok]
    u = z["churn"][ok]
    repeat_without = in_window & ((u >= BASE_CHURN) | before_done)
    repeat_with = in_window & ((u >= BASE_CHURN + inc) | before_done)
    who = p.customer.take(pa.array(s.person[conv[ok]]))
    kpi = f"repeat purchase within {REPEAT_DAYS} days of the first order"
    c.truth.add("late_delivery", "customer", who, f["late"][ok], repeat_without, repeat_with, kpi=kpi)
    # effect 5 on it: first orders the change reached, late and delivered with and without it (same churn draw)
    if fx.faster_picking.enabled:
        r = ok[f["changed"][ok]]
        b = _fulfil(c, t1[r], s.shipping[conv][r], {k: v[r] for k, v in z.items()}, faster=False)
        in_window = nxt_order[r] <= t1[r] + window
        repeat = [in_window & ((z["churn"][r] >= BASE_CHURN + inc * g["late"][i]) | (nxt[r] < g["done"][i]))
                  for g, i in ((b, slice(None)), (f, r))]
        c.truth.add("faster_picking", "customer", p.customer.take(pa.array(s.person[conv[r]])), np.ones(r.size, bool),
                    *repeat, kpi=kpi)


def emit_orders(c: Chunk, p: People, s: Sessions, o: Orders) -> None:
    log, rng, w = c.log, c.rng, c.world
    n = o.time.size
    if n == 0:
        return
    price = catalog(c.seed, w.products)
    lines = 1 + rng.poisson(0.7, n)
    item_order = np.repeat(np.arange(n), lines)
    item_line = np.arange(item_order.size) - np.repeat(np.r_[0, np.cumsum(lines)[:-1]], lines)
    product = rng.integers(0, w.products, item_order.size)
    quantity = 1 + (rng.random(item_order.size) < 0.15)
    value = np.bincount(item_order, price[product] * quantity, n).round(2)
    items = ids("I", (c.index * 10**7 + item_order) * 100 + item_line, 11)
    cust = p.customer.take(pa.array(o.person))
    warehouse = np.array(w.warehouses)[p.region[o.person] % len(w.warehouses)]
    store = np.array(w.stores)[p.region[o.person] % len(w.stores)]
    carrier = rng.integers(0, len(w.carriers), n)
    sess = s.ids.take(pa.array(o.session))
    payment = payment_ids(c, o.session)
    log.objects("order", o.ids, {"channel": np.array(["web", "app"])[s.device[o.session]],
                                 "shipping": SHIPPING[o.shipping], "payment_method": METHODS[s.method[o.session]],
                                 "value": value, "items": lines, "warehouse": warehouse,
                                 "promised_by": o.steps["promise"].astype("datetime64[us]").astype(str)})
    log.objects("item", items, {"product": np.char.add("SKU-", product.astype(str)), "price": price[product],
                                "quantity": quantity})
    log.relate("order", o.ids.take(pa.array(item_order)), "item", items, "contains")
    log.relate("order", o.ids, "customer", cust, "placed by")
    log.relate("order", o.ids, "payment", payment, "paid with")
    base = {"order": o.ids, "customer": cust}
    channel = np.array(["web", "app"])[s.device[o.session]]
    log.add("order placed", o.time, {**base, "session": sess, "payment": payment},
            {"channel": channel, "value": value, "items": lines, "shipping": SHIPPING[o.shipping]})
    log.link_rows(item_order, "item", items)  # the event just added, to each item line of its order
    # fraud check (null effect): beside picking, nothing waits for it
    fx = w.effects.null_fraud_check
    f_start = o.time + lognormal(rng, 40 * SECOND, 0.5, n).astype(np.int64)
    f_minutes = lognormal(rng, fx.median_minutes, fx.sigma if fx.enabled else 0.0, n)
    score = np.clip(rng.beta(2, 8, n) * 100, 0, 100).round(1)
    log.add("fraud check completed", f_start + (f_minutes * MINUTE).astype(np.int64), base,
            {"score": score, "minutes": f_minutes.round(2)})
    c.truth.add("null_fraud_check", "order", o.ids, f_minutes > np.median(f_minutes) if n else np.zeros(0, bool),
                np.zeros(n), np.zeros(n), kpi="any customer KPI (no effect)")
    st = o.steps
    log.add("picking started", st["pick_start"], base, {"warehouse": warehouse})
    log.add("picking completed", st["pick_done"], base, {"warehouse": warehouse})
    log.link_rows(item_order, "item", items)
    log.add("packing completed", st["pack_done"], base, {"warehouse": warehouse})
    log.link_rows(item_order, "item", items)
    home = np.flatnonzero(o.shipping != 2)
    hb = {k: v.take(pa.array(home)) for k, v in base.items()}
    log.add("shipped", st["shipped"][home], hb, {"carrier": np.array(w.carriers)[carrier[home]],
                                                  "shipping": SHIPPING[o.shipping[home]]})
    fail = home[st["failed"][home]]
    log.add("delivery attempted", st["arrival"][fail], {k: v.take(pa.array(fail)) for k, v in base.items()},
            {"result": "failed", "carrier": np.array(w.carriers)[carrier[fail]]})
    log.add("delivered", st["delivered"][home], hb, {"carrier": np.array(w.carriers)[carrier[home]]})
    cc = np.flatnonzero(o.shipping == 2)
    cb = {k: v.take(pa.array(cc)) for k, v in base.items()}
    log.add("ready for pickup", st["ready"][cc], cb, {"store": store[cc]})
    log.add("picked up in store", o.done[cc], cb, {"store": store[cc], "channel": "store"})
    _returns(c, p, o, base, items, lines)


def _returns(c: Chunk, p: People, o: Orders, base: dict, items: pa.Array, lines: np.ndarray) -> None:
    log, rng, w = c.log, c.rng, c.world
    n = o.time.size
    rate = np.array([q.return_rate for q in w.personas])[p.persona[o.person]]
    r = np.flatnonzero(rng.random(n) < rate)
    requested = o.done[r] + lognormal(rng, 3 * DAY, 0.6, r.size).astype(np.int64)
    received = c.clock.add_work(requested, lognormal(rng, 30 * HOUR, 0.5, r.size))
    refunded = c.clock.add_work(received, lognormal(rng, 20 * HOUR, 0.8, r.size))
    ok = requested < c.clock.end
    r, requested, received, refunded = r[ok], requested[ok], received[ok], refunded[ok]
    returns = ids("R", c.index * 10**7 + r, 9)
    first_item = items.take(pa.array(np.r_[0, np.cumsum(lines)[:-1]][r]))
    log.objects("return", returns)
    log.relate("return", returns, "order", o.ids.take(pa.array(r)), "returns")
    links = {"return": returns, "order": o.ids.take(pa.array(r)), "customer": base["customer"].take(pa.array(r)),
             "item": first_item}
    log.add("return requested", requested, links, {"channel": "web"})
    log.add("return received", received, links, {"warehouse": np.array(w.warehouses)[p.region[o.person[r]] % len(w.warehouses)]})
    log.add("refund issued", refunded, links, {"amount": rng.integers(10, 200, r.size).astype(float)})
    o.steps["returns"] = (r, received, refunded)
