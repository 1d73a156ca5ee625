"""``jm.overview``: the first numbers anyone asks of a customer-journey store.

Every figure states its numerator and denominator (they are in the result too):

- ``customers``: objects of type ``customer``; ``visitors``: objects of type ``visitor`` (each merged
  or not); ``sessions``: objects of type ``session`` with at least one event; ``orders``:
  ``order_activity`` events.
- ``events_by_channel``: events counted by their ``channel`` attribute (``(none)`` when absent).
- ``session_conversion``: sessions with at least one ``order_activity`` event / all sessions that have
  any event (PostHog's and Amplitude's session conversion rate, counting each session once).
- ``contact_rate``: ``contact_activity`` events per 100 orders (``order_activity`` events), over the
  whole store.
- ``nps``: over ``survey_activity`` events whose ``survey`` attribute is ``nps``: share of scores 9-10
  minus share of 0-6, times 100 (Reichheld's Net Promoter Score); ``csat``: mean ``score`` of those with
  ``survey`` = ``csat`` (1-5). ``None`` where a store has no such answers.

Defaults name the event types journeymine's simulator writes (``docs/simulate.md``); any store whose
events carry the same meaning under other names can pass them.
"""

from __future__ import annotations

import dataclasses
import json

from ..store import Store

__all__ = ["Overview", "overview"]


@dataclasses.dataclass(frozen=True)
class Overview:
    customers: int
    visitors: int
    sessions: int
    orders: int
    events: int
    events_by_channel: dict[str, int]
    sessions_with_order: int
    session_conversion: float | None
    contacts: int
    contact_rate: float | None  # per 100 orders
    nps_answers: int
    nps: float | None
    csat_answers: int
    csat: float | None

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def overview(store: Store, *, order_activity: str = "order placed", contact_activity: str = "service contact",
             survey_activity: str = "survey answered") -> Overview:
    """Counts, the channel mix, session conversion, contacts per 100 orders, NPS and CSAT of a store.

    >>> import journeymine as jm
    >>> o = jm.overview(jm.simulate(customers=200, days=30, seed=3).store)
    >>> 0.0 < o.session_conversion < 0.1, o.orders > 0
    (True, True)
    """
    counts = store.query(
        """
        SELECT (SELECT count(*) FROM object WHERE type = 'customer') AS customers,
               (SELECT count(*) FROM object WHERE type = 'visitor') AS visitors,
               (SELECT count(*) FROM event) AS events,
               (SELECT count(*) FROM event WHERE type = $order) AS orders,
               (SELECT count(*) FROM event WHERE type = $contact) AS contacts
        """, {"order": order_activity, "contact": contact_activity}).to_pylist()[0]
    channels = store.query(
        """
        SELECT coalesce(json_extract_string(attributes, '$.channel'), '(none)') AS channel, count(*) AS n
        FROM event GROUP BY 1 ORDER BY n DESC, channel
        """).to_pylist()
    sessions = store.query(
        """
        SELECT count(DISTINCT s.object_code) AS sessions,
               count(DISTINCT CASE WHEN t.name = $order THEN s.object_code END) AS converted
        FROM seq s JOIN event_type t ON t.code = s.type_code
        WHERE s.object_type = 'session'
        """, {"order": order_activity}).to_pylist()[0]
    surveys = store.query(
        """
        SELECT json_extract_string(attributes, '$.survey') AS survey,
               count(*) AS n,
               avg(CAST(json_extract_string(attributes, '$.score') AS DOUBLE)) AS mean,
               avg(CASE WHEN CAST(json_extract_string(attributes, '$.score') AS DOUBLE) >= 9 THEN 1.0
                        WHEN CAST(json_extract_string(attributes, '$.score') AS DOUBLE) <= 6 THEN -1.0
                        ELSE 0.0 END) AS net
        FROM event WHERE type = $survey GROUP BY 1
        """, {"survey": survey_activity}).to_pylist()
    by_survey = {row["survey"]: row for row in surveys}
    nps, csat = by_survey.get("nps"), by_survey.get("csat")
    orders = counts["orders"]
    return Overview(
        customers=counts["customers"], visitors=counts["visitors"], sessions=sessions["sessions"],
        orders=orders, events=counts["events"], events_by_channel={r["channel"]: r["n"] for r in channels},
        sessions_with_order=sessions["converted"],
        session_conversion=sessions["converted"] / sessions["sessions"] if sessions["sessions"] else None,
        contacts=counts["contacts"], contact_rate=100 * counts["contacts"] / orders if orders else None,
        nps_answers=nps["n"] if nps else 0, nps=100 * nps["net"] if nps else None,
        csat_answers=csat["n"] if csat else 0, csat=csat["mean"] if csat else None,
    )
