"""People, their web and app sessions, the checkout funnel with its address form, and identity.

Mechanics (all per chunk, vectorised):

- **People** get a hidden persona, a region, a language (German or English), consent flags, a web
  browser and maybe the app (one anonymous ``visitor`` id per device). Existing customers have an
  account from the start; new people arrive on a uniform day and register at their first checkout.
- **Sessions** arrive as a Poisson process per person with weekday and sale-week intensity and an
  evening-heavy hour profile. Each session: page views, maybe a search, product views, maybe add to
  cart; then checkout address (a form of ``World.form_fields``: per field a focus with click
  coordinates, maybe an error, a hazard of abandoning), delivery (shipping choice), payment (payment
  verification, log-normal), order placed.
- **Effect 1**: abandonment at the payment step is ``0.10 + abandonment_increase`` when verification
  took longer than ``threshold_seconds``, else ``0.10``.
- **Effect 3**: the form abandonment hazard is ``0.02`` per field, plus ``abandonment_increase`` at the
  confusing field.
- **Identity**: a device's sessions are anonymous (linked to its visitor) until its first login (or
  registration, or a checkout, which needs one); that session links to visitor *and* customer, later
  ones to the customer. Every such (visitor, customer) pair is stitched with ``store.identify``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._chunk import Chunk
from ._log import pick
from ._clock import DAY, HOUR, MINUTE, SECOND, ids, lognormal, scrambled_ids, segment_cumsum

__all__ = ["People", "Sessions", "catalog", "payment_ids", "emit_sessions", "make_people", "make_sessions"]

WEEKDAY = np.array([1.0, 0.95, 0.95, 1.0, 1.05, 1.2, 1.25])  # Monday..Sunday
HOURS = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.0, 1.1, 1.2, 1.4, 1.3, 1.1, 1.0, 1.0, 1.2,
                  1.5, 1.9, 2.2, 2.1, 1.5, 0.8])
CATEGORIES = np.array(["jackets", "shoes", "tents", "backpacks", "sleeping bags", "accessories"])
PAGES = np.array(["/", "/sale", "/c/jackets", "/c/shoes", "/c/tents", "/help", "/stores", "/account"])
QUERIES = np.array(["regenjacke", "wanderschuhe", "zelt 4 personen", "rain jacket", "hiking boots", "schlafsack",
                    "backpack 30l", "merino"])
SHIPPING = np.array(["standard", "express", "click_collect"])
DEVICES = ("web", "app")
METHODS = np.array(["card", "paypal", "invoice"])
P_CHECKOUT, P_DELIVERY, P_PAYMENT, P_ABANDON_PAY = 0.55, 0.90, 0.93, 0.10
FIELD_HAZARD, FIELD_ERROR, CONFUSING_ERROR = 0.02, 0.04, 0.30
P_LOGIN = np.array([0.35, 0.8])  # per session, web / app, for a known person
P_APP_SESSION = 0.6


@dataclasses.dataclass
class People:
    n: int
    persona: np.ndarray
    region: np.ndarray
    german: np.ndarray
    existing: np.ndarray
    arrive: np.ndarray
    email_ok: np.ndarray
    push_ok: np.ndarray
    has_app: np.ndarray
    customer: pa.Array  # "C" id of everyone (used only for those who become known)
    visitor: tuple[pa.Array, pa.Array]  # web, app
    known_from: np.ndarray = None  # µs when the person became a known customer (int64 max: never)
    cutoff: np.ndarray = None  # µs after which a churned person never comes back (int64 max: never)


def payment_ids(c: Chunk, session_rows: np.ndarray) -> pa.Array:
    """The payment object of each session that reached the payment step (shared with its order)."""
    return scrambled_ids("P", c.index, session_rows)


def catalog(seed: int, products: int) -> np.ndarray:
    """The price of every product (the same in every chunk of a run)."""
    rng = np.random.default_rng([seed, 2**40])
    return np.round(np.exp(np.log(35.0) + 0.7 * rng.standard_normal(products))) - 0.01


def make_people(c: Chunk) -> People:
    rng, w = c.rng, c.world
    n = c.size
    shares = np.array([p.share for p in w.personas])
    persona = rng.choice(len(w.personas), n, p=shares / shares.sum())
    existing = rng.random(n) < np.array([p.existing_share for p in w.personas])[persona]
    arrive = np.where(existing, c.clock.start, c.clock.start + (rng.random(n) * c.clock.days * DAY).astype(np.int64))
    g = np.arange(n, dtype=np.int64) + c.index * 10**7
    local = np.arange(n, dtype=np.int64)
    return People(
        n=n, persona=persona, region=rng.integers(0, len(w.regions), n), german=rng.random(n) < w.german_share,
        existing=existing, arrive=arrive, email_ok=rng.random(n) < 0.7, push_ok=rng.random(n) < 0.45,
        has_app=rng.random(n) < 0.45, customer=ids("C", g + 1, 8),
        visitor=(scrambled_ids("V", c.index, 2 * local), scrambled_ids("V", c.index, 2 * local + 1)),
    )


@dataclasses.dataclass
class Sessions:
    person: np.ndarray
    device: np.ndarray
    start: np.ndarray
    ids: pa.Array
    browse: dict  # per browse event: session, kind, time, product
    checkout: np.ndarray
    t_address: np.ndarray
    fields_done: np.ndarray  # fields focused (incl. the one abandoned at)
    field_time: np.ndarray  # (n, fields) focus times
    field_error: np.ndarray  # (n, fields)
    submitted: np.ndarray
    t_form_end: np.ndarray
    delivery: np.ndarray
    t_delivery: np.ndarray
    shipping: np.ndarray
    payment: np.ndarray
    t_payment: np.ndarray
    method: np.ndarray
    verify_start: np.ndarray
    verify_seconds: np.ndarray
    converted: np.ndarray
    t_order: np.ndarray
    identified: np.ndarray = None
    first_identified: np.ndarray = None
    registers: np.ndarray = None


def _session_times(c: Chunk, p: People) -> tuple[np.ndarray, np.ndarray]:
    rng, clock, w = c.rng, c.clock, c.world
    days = clock.days
    weight = WEEKDAY[clock.weekday(clock.start + np.arange(days) * DAY)]
    lo, hi = w.sale_days
    weight[lo:min(hi, days)] *= 2.0
    weight = weight / weight.mean()
    cum = np.r_[0.0, np.cumsum(weight)]
    arrive_day = (p.arrive - clock.start) / DAY
    c_from = np.interp(arrive_day, np.arange(days + 1), cum)
    rate = np.array([q.sessions_per_day for q in w.personas])[p.persona]
    count = rng.poisson(rate * (cum[-1] - c_from))
    person = np.repeat(np.arange(p.n), count)
    u = c_from[person] + rng.random(person.size) * (cum[-1] - c_from[person])
    day = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, days - 1)
    hour = rng.choice(24, person.size, p=HOURS / HOURS.sum())
    t = clock.start + day * DAY + hour * HOUR + (rng.random(person.size) * HOUR).astype(np.int64)
    t = np.maximum(t, p.arrive[person] + MINUTE)
    first = np.flatnonzero(~p.existing)  # a new person's first visit is their arrival
    person, t = np.r_[person, first], np.r_[t, p.arrive[first]]
    order = np.lexsort((t, person))
    return person[order], t[order]


def make_sessions(c: Chunk, p: People) -> Sessions:
    rng, w = c.rng, c.world
    fx = w.effects
    person, start = _session_times(c, p)
    n = person.size
    device = (p.has_app[person] & (rng.random(n) < P_APP_SESSION)).astype(np.int64)
    persona = p.persona[person]
    n_pages = np.minimum(rng.geometric(0.5, n), 12)
    search = rng.random(n) < 0.35
    cart = rng.random(n) < np.array([q.cart_rate for q in w.personas])[persona]
    n_prod = np.maximum(rng.poisson(1.3, n), cart)
    # browse events: pages, a search, product views, add to cart; gaps log-normal
    count = n_pages + search + n_prod + cart
    sess = np.repeat(np.arange(n), count)
    starts = np.r_[0, np.cumsum(count)[:-1]]
    pos = np.arange(sess.size) - starts[sess]
    kind = np.select([pos < n_pages[sess], pos < (n_pages + search)[sess], pos < (n_pages + search + n_prod)[sess]],
                     [0, 1, 2], 3)
    gap = lognormal(rng, 35 * SECOND, 0.9, sess.size).astype(np.int64)
    gap[starts] = 0
    times = start[sess] + segment_cumsum(gap, starts)
    product = rng.integers(0, w.products, sess.size)
    browse_end = times[starts + count - 1]
    # checkout address form
    checkout = cart & (rng.random(n) < P_CHECKOUT)
    t_address = browse_end + lognormal(rng, 30 * SECOND, 0.5, n).astype(np.int64)
    k = len(w.form_fields)
    confusing = np.array([f == fx.confusing_field.field and fx.confusing_field.enabled for f in w.form_fields])
    hazard = FIELD_HAZARD + np.where(confusing, fx.confusing_field.abandonment_increase, 0.0)
    leave = rng.random((n, k)) < hazard
    stop = np.where(leave.any(axis=1), leave.argmax(axis=1), k)  # field index abandoned at, k = none
    fields_done = np.where(checkout, np.minimum(stop + 1, k), 0)
    submitted = checkout & (stop == k)
    gaps = lognormal(rng, 9 * SECOND, 0.6, n * k).reshape(n, k)
    field_time = (t_address + 2 * SECOND)[:, None] + np.cumsum(gaps, axis=1).astype(np.int64)  # after form started
    field_error = rng.random((n, k)) < np.where(confusing, CONFUSING_ERROR, FIELD_ERROR)
    last = field_time[np.arange(n), np.maximum(fields_done - 1, 0)]
    t_form_end = last + lognormal(rng, 6 * SECOND, 0.5, n).astype(np.int64)
    # delivery and payment steps
    delivery = submitted & (rng.random(n) < P_DELIVERY)
    t_delivery = t_form_end + lognormal(rng, 20 * SECOND, 0.5, n).astype(np.int64)
    express = fx.confounder.option_share if fx.confounder.enabled else None
    express_p = np.array([(express if (express is not None and q.name == fx.confounder.persona) else q.express_share)
                          for q in w.personas])[persona]
    u = rng.random(n)
    shipping = np.where(u < 0.1, 2, np.where(u < 0.1 + 0.9 * express_p, 1, 0))
    payment = delivery & (rng.random(n) < P_PAYMENT)
    t_payment = t_delivery + lognormal(rng, 25 * SECOND, 0.5, n).astype(np.int64)
    method = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    verify_start = t_payment + lognormal(rng, 8 * SECOND, 0.3, n).astype(np.int64)
    verify_seconds = lognormal(rng, 30.0, 1.1, n)
    slow = verify_seconds > fx.slow_payment.threshold_seconds
    increase = fx.slow_payment.abandonment_increase if fx.slow_payment.enabled else 0.0
    p_abandon = P_ABANDON_PAY + increase * slow
    u_abandon = rng.random(n)
    converted = payment & (u_abandon >= p_abandon)
    t_order = verify_start + (verify_seconds * SECOND).astype(np.int64) + lognormal(rng, 5 * SECOND, 0.5, n).astype(np.int64)
    s = Sessions(person=person, device=device, start=start, ids=scrambled_ids("S", c.index, np.arange(n)),
                 browse={"session": sess, "kind": kind, "time": times, "product": product},
                 checkout=checkout, t_address=t_address, fields_done=fields_done, field_time=field_time,
                 field_error=field_error, submitted=submitted, t_form_end=t_form_end, delivery=delivery,
                 t_delivery=t_delivery, shipping=shipping, payment=payment, t_payment=t_payment, method=method,
                 verify_start=verify_start, verify_seconds=verify_seconds, converted=converted, t_order=t_order)
    _identity(c, p, s)
    return s


def _identity(c: Chunk, p: People, s: Sessions) -> None:
    """Which sessions are identified, when new people register, and the (visitor, customer) pairs."""
    rng = c.rng
    n = s.person.size
    never = np.iinfo(np.int64).max
    first_checkout = np.full(p.n, never)
    np.minimum.at(first_checkout, s.person[s.checkout], s.start[s.checkout])
    known_from = np.where(p.existing, p.arrive, first_checkout)
    registers = ~p.existing[s.person] & s.checkout & (s.start == first_checkout[s.person])
    login = rng.random(n) < P_LOGIN[s.device]
    candidate = (s.start >= known_from[s.person]) & (login | s.checkout | registers)
    order = np.lexsort((s.start, s.device, s.person))  # by device
    key = s.person[order] * 2 + s.device[order]
    group_start = np.r_[True, key[1:] != key[:-1]]
    idx = np.arange(n)
    first_cand = np.where(candidate[order], idx, n)
    # first candidate index within each device group, carried forward
    group_id = np.cumsum(group_start) - 1
    first_in_group = np.full(group_id[-1] + 1 if n else 0, n)
    np.minimum.at(first_in_group, group_id, first_cand)
    ident_sorted = idx >= first_in_group[group_id]
    identified = np.empty(n, bool)
    identified[order] = ident_sorted
    first = np.zeros(n, bool)
    first[order] = idx == first_in_group[group_id]
    s.identified, s.first_identified, s.registers = identified, first, registers
    p.known_from = known_from
    p.cutoff = np.full(p.n, never)
    rows = np.flatnonzero(first)
    visitor = pa.chunked_array([p.visitor[0], p.visitor[1]]).combine_chunks()
    c.pairs.append((visitor.take(pa.array(s.person[rows] + p.n * s.device[rows])),
                    p.customer.take(pa.array(s.person[rows]))))


def _session_truth(c: Chunk, s: Sessions, alive: np.ndarray) -> None:
    """Truth of effects 1 and 3 over the sessions that are in the data: alive (their person had not
    churned) and with the unit's step before the horizon."""
    fx, horizon = c.world.effects, c.log.horizon
    increase = fx.slow_payment.abandonment_increase if fx.slow_payment.enabled else 0.0
    rows = np.flatnonzero(alive & s.payment & (s.t_payment < horizon))  # effect 1: sessions reaching payment
    slow = s.verify_seconds[rows] > fx.slow_payment.threshold_seconds
    c.truth.add("slow_payment", "session", s.ids.take(pa.array(rows)), slow,
                np.full(rows.size, P_ABANDON_PAY), P_ABANDON_PAY + increase * slow,
                kpi="abandoned at payment | payment step reached")
    fields = c.world.form_fields
    if fx.confusing_field.enabled and fx.confusing_field.field in fields:  # effect 3: forms reaching the field
        conf = fields.index(fx.confusing_field.field)
        rows = np.flatnonzero(alive & s.checkout & (s.fields_done > conf) & (s.field_time[:, conf] < horizon))
        c.truth.add("confusing_field", "session", s.ids.take(pa.array(rows)), np.ones(rows.size, bool),
                    np.full(rows.size, FIELD_HAZARD),
                    np.full(rows.size, FIELD_HAZARD + fx.confusing_field.abandonment_increase),
                    kpi="form abandoned at the field | field reached")


def emit_sessions(c: Chunk, p: People, s: Sessions, alive: np.ndarray) -> None:
    """Write the events of the sessions still ``alive`` (not after their person churned)."""
    w, log, rng = c.world, c.log, c.rng
    keep = np.flatnonzero(alive)
    _session_truth(c, s, alive)
    visitor = pa.chunked_array([p.visitor[0], p.visitor[1]]).combine_chunks()
    who_v = np.where(~s.identified | s.first_identified, s.person + p.n * s.device, -1)
    vis = visitor.take(pa.array(who_v, mask=who_v < 0))
    cus_rows = np.where(s.identified, s.person, -1)
    cus = p.customer.take(pa.array(cus_rows, mask=cus_rows < 0))
    log.objects("session", s.ids.take(pa.array(keep)), {"channel": pick(DEVICES, s.device[keep])})

    def links(rows: np.ndarray) -> dict[str, pa.Array]:
        r = pa.array(rows)
        return {"visitor": vis.take(r), "customer": cus.take(r), "session": s.ids.take(r)}

    b = s.browse
    bk = np.flatnonzero(alive[b["session"]])
    names = ("page viewed", "search", "product viewed", "added to cart")
    price = catalog(c.seed, w.products)
    skus = [f"SKU-{i}" for i in range(w.products)]
    for kind, name in enumerate(names):
        sel = bk[b["kind"][bk] == kind]
        ss = b["session"][sel]
        attrs: dict[str, object] = {"channel": pick(DEVICES, s.device[ss])}
        if kind == 0:
            attrs["page"] = pick(PAGES, rng.integers(0, PAGES.size, sel.size))
        elif kind == 1:
            attrs["query"] = pick(QUERIES, rng.integers(0, QUERIES.size, sel.size))
        else:
            prod = b["product"][sel]
            attrs.update(product=pick(skus, prod), category=pick(CATEGORIES, prod % CATEGORIES.size), price=price[prod])
        log.add(name, b["time"][sel], links(ss), attrs)
    first = keep[s.first_identified[keep] & ~s.registers[keep]]
    log.add("logged in", s.start[first], links(first), {"channel": pick(DEVICES, s.device[first])})
    rows = keep[s.checkout[keep]]
    log.add("checkout address", s.t_address[rows], links(rows), {"channel": pick(DEVICES, s.device[rows]), "step": 1})
    reg = keep[s.registers[keep]]
    onboarding = pc.replace_substring_regex(p.customer.take(pa.array(s.person[reg])), "^C", "N")
    log.objects("onboarding", onboarding)
    log.add("account registered", s.t_address[reg] + SECOND, {**links(reg), "onboarding": onboarding},
            {"channel": pick(DEVICES, s.device[reg])})
    log.add("form started", s.t_address[rows] + 2 * SECOND, links(rows),
            {"channel": pick(DEVICES, s.device[rows]), "form": "address"})
    k = len(w.form_fields)
    fields = w.form_fields
    cell = np.flatnonzero((np.arange(k)[None, :] < s.fields_done[rows, None]).ravel())
    fr, fk = rows[cell // k], cell % k
    x = (np.where(fk % 2 == 0, 320, 640) + rng.normal(0, 40, fr.size)).round().astype(np.int64)
    y = (220 + 70 * fk + rng.normal(0, 8, fr.size)).round().astype(np.int64)
    log.add("form field focused", s.field_time[fr, fk], links(fr),
            {"channel": pick(DEVICES, s.device[fr]), "form": "address", "field": pick(fields, fk), "x": x, "y": y})
    err = s.field_error[fr, fk]
    log.add("form field error", s.field_time[fr[err], fk[err]] + 4 * SECOND, links(fr[err]),
            {"channel": pick(DEVICES, s.device[fr[err]]), "form": "address", "field": pick(fields, fk[err]),
             "x": x[err], "y": y[err]})
    ab = rows[~s.submitted[rows]]
    log.add("form abandoned", s.t_form_end[ab], links(ab),
            {"channel": pick(DEVICES, s.device[ab]), "form": "address", "field": pick(fields, s.fields_done[ab] - 1)})
    sub = rows[s.submitted[rows]]
    log.add("form submitted", s.t_form_end[sub], links(sub), {"channel": pick(DEVICES, s.device[sub]), "form": "address"})
    rows = keep[s.delivery[keep]]
    log.add("checkout delivery", s.t_delivery[rows], links(rows),
            {"channel": pick(DEVICES, s.device[rows]), "step": 2, "shipping": pick(SHIPPING, s.shipping[rows])})
    rows = keep[s.payment[keep]]
    log.add("checkout payment", s.t_payment[rows], links(rows),
            {"channel": pick(DEVICES, s.device[rows]), "step": 3, "method": pick(METHODS, s.method[rows])})
    pay = payment_ids(c, rows)
    method = pick(METHODS, s.method[rows])
    log.objects("payment", pay, {"method": method})
    both = {**links(rows), "payment": pay}
    log.add("payment verification started", s.verify_start[rows], both, {"method": method})
    done = s.verify_start[rows] + (s.verify_seconds[rows] * SECOND).astype(np.int64)
    log.add("payment verification completed", done, both, {"method": method, "result": "approved"})
