"""Contacts and tickets, surveys, e-mail and push, store visits and onboarding.

Mechanics:

- **Contacts about an order**: "where is my order" with probability
  ``m * (0.04 + wismo_increase * late)`` (effect 2), damaged item ``0.02 m`` after delivery, refund
  status ``0.06 m`` per return; ``m`` is the persona's contact multiplier (effect 4: the confounding
  persona's is ``contact_multiplier``). A new customer's first order also brings a "how do I" question
  with probability ``0.12 m``. For first orders of new customers who got the welcome e-mail (effect 6,
  a random ``share`` of those with e-mail consent) both probabilities are cut by ``contact_reduction``.
- **Background contacts** of known customers (advice, upgrades, praise, self-service questions):
  Poisson, ``0.0015 m`` per day while they are customers and have not churned.
- Each contact (phone, chat or e-mail; text in the customer's language) opens a **ticket**: assigned,
  maybe escalated (12 %), resolved, in working time; 30 % answer a CSAT survey (1-5, lower after an
  escalation).
- **NPS** (0-10) after 25 % of deliveries: ``round(persona mean + nps_shift * late + N(0, 1.6))``
  clipped to 0-10 (effect 2).
- **Newsletters** every 14 days to known customers with e-mail consent (opened 30 %, clicked 25 % of
  those), **push** every 10 days to app users with push consent (opened 12 %).
- **Store visits** by known customers, 0.012 per day (loyal regulars twice), 45 % buy in store.
- **Onboarding** of new customers: e-mail verified (85 %), profile completed (half of those).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _texts as tx
from ._chunk import Chunk
from ._clock import DAY, HOUR, MINUTE, SECOND, ids, lognormal
from ._orders import Orders
from ._web import People, Sessions

__all__ = ["emit_service"]

P_WISMO, P_DAMAGED, P_REFUND, P_HOWTO, BACKGROUND_RATE = 0.04, 0.02, 0.06, 0.12, 0.0015
CHANNELS = np.array(["phone", "chat", "email"])


def _multiplier(c: Chunk, p: People) -> np.ndarray:
    fx = c.world.effects.confounder
    m = np.array([q.contact_multiplier for q in c.world.personas])
    if fx.enabled:
        m[c.world.persona(fx.persona)] = fx.contact_multiplier
    else:
        m[:] = 1.0
    return m[p.persona]


def emit_service(c: Chunk, p: People, s: Sessions, o: Orders) -> None:
    rng, fx = c.rng, c.world.effects
    mult = _multiplier(c, p)
    m = mult[o.person]
    n = o.time.size
    st = o.steps
    # effect 6: the welcome e-mail, randomised among new customers' first orders with consent
    first_new = (o.rank == 0) & ~p.existing[o.person] & p.email_ok[o.person]
    welcomed = first_new & (rng.random(n) < fx.welcome_email.share) & fx.welcome_email.enabled
    cut = np.where(welcomed, 1 - fx.welcome_email.contact_reduction, 1.0)
    wismo_inc = fx.late_delivery.wismo_increase if fx.late_delivery.enabled else 0.0
    p_wismo = np.minimum(1.0, m * (P_WISMO + wismo_inc * o.late)) * cut
    wismo = rng.random(n) < p_wismo
    p_howto = np.where(first_new | ((o.rank == 0) & ~p.existing[o.person]), np.minimum(1.0, m * P_HOWTO), 0.0) * cut
    howto = rng.random(n) < p_howto
    damaged = (rng.random(n) < np.minimum(1.0, m * P_DAMAGED)) & (o.shipping != 2)
    # truth of effects 2 and 6
    pw0, pw1 = np.minimum(1.0, m * P_WISMO) * cut, np.minimum(1.0, m * (P_WISMO + wismo_inc)) * cut
    c.truth.add("late_delivery", "order", o.ids, o.late, pw0, pw1, kpi="where-is-my-order contact")
    if "late_without_change" in st:
        rows = np.flatnonzero(st["changed"])  # the orders effect 5 reached
        before = st["late_without_change"][rows]
        c.truth.add("faster_picking", "order", o.ids.take(pa.array(rows)), np.ones(rows.size, bool),
                    np.where(before, pw1[rows], pw0[rows]), np.where(o.late[rows], pw1[rows], pw0[rows]),
                    kpi="where-is-my-order contact")
    rows = np.flatnonzero(first_new)
    ph = np.where(first_new, np.minimum(1.0, m * P_HOWTO), 0.0)
    pw = np.where(o.late, np.minimum(1.0, m * (P_WISMO + wismo_inc)), np.minimum(1.0, m * P_WISMO))
    any_without = 1 - (1 - pw) * (1 - ph)
    any_with = 1 - (1 - pw * (1 - fx.welcome_email.contact_reduction)) * (1 - ph * (1 - fx.welcome_email.contact_reduction))
    c.truth.add("welcome_email", "order", o.ids.take(pa.array(rows)), welcomed[rows], any_without[rows],
                any_with[rows] if fx.welcome_email.enabled else any_without[rows],
                kpi="where-is-my-order or how-do-I contact about the first order")
    exp = o.shipping == 1
    actual = np.where(o.late, pw1, pw0)  # express changes nothing: the same probability either way
    c.truth.add("confounder", "order", o.ids, exp, actual, actual, kpi="where-is-my-order contact")
    # contact times
    start_w = np.where(o.late, st["promise"], st["shipped"])
    t_wismo = start_w + (rng.random(n) * np.maximum(o.done - start_w, HOUR)).astype(np.int64)
    t_wismo = np.minimum(t_wismo, o.done - MINUTE)
    t_howto = o.time + lognormal(rng, 2 * DAY, 0.8, n).astype(np.int64)
    t_damaged = o.done + lognormal(rng, 20 * HOUR, 0.6, n).astype(np.int64)
    parts = [(np.flatnonzero(wismo), t_wismo, np.full(n, tx.WISMO)),
             (np.flatnonzero(howto), t_howto, np.where(rng.random(n) < 0.5, tx.CHANGE_ADDRESS, tx.RETURN_HOWTO)),
             (np.flatnonzero(damaged), t_damaged, np.full(n, tx.DAMAGED))]
    r, received, refunded = st.get("returns", (np.zeros(0, np.int64),) * 3)
    asks = rng.random(r.size) < np.minimum(1.0, m[r] * P_REFUND)
    t_refund = received + (rng.random(r.size) * np.maximum(refunded - received, HOUR)).astype(np.int64)
    order_rows = np.r_[parts[0][0], parts[1][0], parts[2][0], r[asks]]
    times = np.r_[parts[0][1][parts[0][0]], parts[1][1][parts[1][0]], parts[2][1][parts[2][0]], t_refund[asks]]
    reasons = np.r_[parts[0][2][parts[0][0]], parts[1][2][parts[1][0]], parts[2][2][parts[2][0]],
                    np.full(int(asks.sum()), tx.REFUND)]
    # background contacts while a known customer
    until = np.minimum(p.cutoff, c.clock.end)
    span = np.clip(until - p.known_from, 0, None) / DAY
    k = rng.poisson(BACKGROUND_RATE * mult * span)
    bp = np.repeat(np.arange(p.n), k)
    bt = p.known_from[bp] + (rng.random(bp.size) * (until[bp] - p.known_from[bp])).astype(np.int64)
    br = rng.choice(tx.BACKGROUND, bp.size, p=tx.BACKGROUND_P)
    keep = times < c.clock.end
    _contacts(c, p, np.r_[o.person[order_rows[keep]], bp], np.r_[times[keep], bt], np.r_[reasons[keep], br],
              np.r_[order_rows[keep], np.full(bp.size, -1)], o)
    _nps(c, p, o)
    _campaigns(c, p, s, o, welcomed)
    _stores(c, p)
    _onboarding(c, p, s)


def _contacts(c: Chunk, p: People, person, time, reason, order_row, o: Orders) -> None:
    log, rng = c.log, c.rng
    order = np.lexsort((reason, time, person))
    person, time, reason, order_row = person[order], time[order], reason[order], order_row[order]
    n = person.size
    if n == 0:
        return
    heavy = _multiplier(c, p)[person] > 1
    channel = np.where(rng.random(n) < np.where(heavy, 0.6, 0.4), 0, np.where(rng.random(n) < 0.6, 1, 2))
    german = p.german[person]
    text = tx.texts(rng, reason, german)
    tickets = ids("T", c.index * 10**7 + np.arange(n), 9)
    cust = p.customer.take(pa.array(person))
    orders = o.ids.take(pa.array(np.where(order_row < 0, 0, order_row), mask=order_row < 0)) if o.time.size else \
        pa.nulls(n, pa.string())
    team = np.array([r.team for r in tx.REASONS])[reason]
    log.objects("ticket", tickets, {"team": team})
    links = {"customer": cust, "ticket": tickets, "order": orders}
    log.add("service contact", time, links, {"channel": CHANNELS[channel], "language": np.where(german, "de", "en"),
                                             "text": text})
    tl = {"ticket": tickets, "customer": cust}
    opened = time + SECOND
    log.add("ticket opened", opened, tl, {"channel": CHANNELS[channel]})
    assigned = c.clock.add_work(opened, lognormal(rng, 25 * MINUTE, 0.9, n))
    log.add("ticket assigned", assigned, tl, {"team": team})
    esc = rng.random(n) < 0.12
    escalated = c.clock.add_work(assigned, lognormal(rng, 3 * HOUR, 0.7, n))
    e = np.flatnonzero(esc)
    log.add("ticket escalated", escalated[e], {k: v.take(pa.array(e)) for k, v in tl.items()}, {"team": "2nd level"})
    resolved = c.clock.add_work(np.where(esc, escalated, assigned), lognormal(rng, 4 * HOUR, 1.0, n)) + \
        esc * lognormal(rng, DAY, 0.5, n).astype(np.int64)
    log.add("ticket resolved", resolved, tl, {"team": np.where(esc, "2nd level", team)})
    answer = np.flatnonzero((rng.random(n) < 0.3) & (resolved < c.clock.end))
    score = np.clip(np.round(4.2 - 1.3 * esc[answer] + rng.normal(0, 0.8, answer.size)), 1, 5).astype(np.int64)
    band = np.select([score <= 2, score == 3], [0, 1], 2)
    log.add("survey answered", resolved[answer] + lognormal(rng, 2 * HOUR, 0.5, answer.size).astype(np.int64),
            {k: v.take(pa.array(answer)) for k, v in tl.items()},
            {"survey": "csat", "touchpoint": "service", "score": score, "channel": "email",
             "comment": tx.comments(rng, band, german[answer])})
    c.truth.contacts.append(pa.table({"ticket": tickets, "customer": cust, "reason": pa.array(
        np.array([r.code for r in tx.REASONS])[reason]), "value_class": pa.array(
        np.array([r.value_class for r in tx.REASONS])[reason]), "language": np.where(german, "de", "en")}))


def _nps(c: Chunk, p: People, o: Orders) -> None:
    log, rng, fx = c.log, c.rng, c.world.effects.late_delivery
    n = o.time.size
    answer = np.flatnonzero(rng.random(n) < 0.25)
    when = o.done[answer] + lognormal(rng, 20 * HOUR, 0.5, answer.size).astype(np.int64)
    mean = np.array([q.nps_mean for q in c.world.personas])[p.persona[o.person[answer]]]
    noise = rng.normal(0, 1.6, answer.size)
    shift = fx.nps_shift if fx.enabled else 0.0
    without = np.clip(np.round(mean + noise), 0, 10)
    with_ = np.clip(np.round(mean + shift + noise), 0, 10)
    late = o.late[answer]
    score = np.where(late, with_, without).astype(np.int64)
    ok = when < c.clock.end
    a = answer[ok]
    band = np.select([score <= 6, score <= 8], [0, 1], 2)[ok]
    log.add("survey answered", when[ok], {"order": o.ids.take(pa.array(a)),
                                          "customer": p.customer.take(pa.array(o.person[a]))},
            {"survey": "nps", "touchpoint": "delivery", "score": score[ok], "channel": "email",
             "comment": tx.comments(rng, band, p.german[o.person[a]])})
    c.truth.add("late_delivery", "order", o.ids.take(pa.array(a)), late[ok], without[ok], with_[ok],
                kpi="delivery NPS score (0-10)")


def _campaigns(c: Chunk, p: People, s: Sessions, o: Orders, welcomed: np.ndarray) -> None:
    rng, clock = c.rng, c.clock
    for day in range(1, clock.days, 14):
        when = clock.start + day * DAY + 9 * HOUR
        to = np.flatnonzero(p.email_ok & (p.known_from <= when))
        _mail(c, p, f"newsletter-{day:03d}", to, np.full(to.size, when), "email", 0.3)
    app_known = np.full(p.n, np.iinfo(np.int64).max)
    sel = s.identified & (s.device == 1)
    np.minimum.at(app_known, s.person[sel], s.start[sel])
    for day in range(3, clock.days, 10):
        when = clock.start + day * DAY + 18 * HOUR
        to = np.flatnonzero(p.push_ok & (app_known <= when))
        _mail(c, p, f"push-{day:03d}", to, np.full(to.size, when), "push", 0.12)
    w = np.flatnonzero(welcomed)
    sent = o.time[w] + np.minimum(lognormal(rng, 4 * HOUR, 0.5, w.size), 20 * HOUR).astype(np.int64)
    _mail(c, p, "welcome", o.person[w], sent, "email", 0.6, order=o.ids.take(pa.array(w)))


def _mail(c: Chunk, p: People, campaign: str, person: np.ndarray, sent: np.ndarray, kind: str, p_open: float,
          order: pa.Array | None = None) -> None:
    log, rng = c.log, c.rng
    if person.size == 0:
        return
    log.objects("campaign", pa.array([campaign]), {"kind": kind})
    cust = p.customer.take(pa.array(person))
    camp = pa.repeat(pa.scalar(campaign), person.size).cast(pa.string())
    links = {"customer": cust, "campaign": camp} | ({"order": order} if order is not None else {})
    log.add(f"{kind} sent", sent, links, {"channel": kind, "campaign": campaign})
    opened = np.flatnonzero(rng.random(person.size) < p_open)
    t_open = sent[opened] + lognormal(rng, 3 * HOUR, 1.0, opened.size).astype(np.int64)
    sub = {k: v.take(pa.array(opened)) for k, v in links.items()}
    log.add(f"{kind} opened", t_open, sub, {"channel": kind, "campaign": campaign})
    if kind == "email":
        click = np.flatnonzero(rng.random(opened.size) < 0.25)
        log.add("email clicked", t_open[click] + lognormal(rng, 40 * SECOND, 0.8, click.size).astype(np.int64),
                {k: v.take(pa.array(click)) for k, v in sub.items()}, {"channel": kind, "campaign": campaign})


def _stores(c: Chunk, p: People) -> None:
    log, rng, w = c.log, c.rng, c.world
    until = np.minimum(p.cutoff, c.clock.end)
    span = np.clip(until - p.known_from, 0, None) / DAY
    loyal = np.array([q.name == "loyal_regular" for q in w.personas])[p.persona]
    k = rng.poisson(0.012 * np.where(loyal, 2.0, 1.0) * span)
    who = np.repeat(np.arange(p.n), k)
    day = (p.known_from[who] + rng.random(who.size) * (until[who] - p.known_from[who])).astype(np.int64) // DAY * DAY
    t = np.maximum(day + (10 * HOUR + rng.random(who.size) * 9 * HOUR).astype(np.int64), p.known_from[who])
    store = np.array(w.stores)[p.region[who] % len(w.stores)]
    log.objects("store", pa.array(list(w.stores)), {})
    links = {"customer": p.customer.take(pa.array(who)), "store": pa.array(store)}
    log.add("store visited", t, links, {"channel": "store", "store": store})
    buy = np.flatnonzero(rng.random(who.size) < 0.45)
    log.add("in-store purchase", t[buy] + lognormal(rng, 25 * MINUTE, 0.5, buy.size).astype(np.int64),
            {k_: v.take(pa.array(buy)) for k_, v in links.items()},
            {"channel": "store", "store": store[buy], "value": np.round(lognormal(rng, 45.0, 0.6, buy.size), 2)})


def _onboarding(c: Chunk, p: People, s: Sessions) -> None:
    log, rng = c.log, c.rng
    reg = np.flatnonzero(s.registers)
    who = s.person[reg]
    t = s.t_address[reg] + SECOND
    links = {"onboarding": pc.replace_substring_regex(p.customer.take(pa.array(who)), "^C", "N"),
             "customer": p.customer.take(pa.array(who))}
    verified = np.flatnonzero(rng.random(reg.size) < 0.85)
    tv = t[verified] + lognormal(rng, 15 * MINUTE, 1.0, verified.size).astype(np.int64)
    log.add("email verified", tv, {k: v.take(pa.array(verified)) for k, v in links.items()}, {"channel": "email"})
    prof = verified[rng.random(verified.size) < 0.5]
    tp = t[prof] + lognormal(rng, 2 * DAY, 0.8, prof.size).astype(np.int64)
    ok = tp < c.clock.end
    log.add("profile completed", tp[ok], {k: v.take(pa.array(prof[ok])) for k, v in links.items()}, {"channel": "web"})
