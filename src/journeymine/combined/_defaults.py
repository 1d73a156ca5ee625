"""The retail vocabulary the combined view falls back on when it is not told what to look at.

``jm.priorities``, ``jm.journey_map`` and ``journeymine report`` need journey outcomes, a checkout funnel
and a process to look at. A user names them; without that they use these documented defaults, in the
event names of the simulator (``jm.simulate``) and of a typical shop log. Only the parts whose event
types exist in the store are used, so a store with no checkout funnel simply gets no payment outcome.
"""

from __future__ import annotations

from ..store import Store
from ._outcomes import Outcome, dropped_after, followed_by

__all__ = ["CHECKOUT", "CONTACT", "ORDER", "ORDER_PLACED", "retail_outcomes"]

CHECKOUT = ("checkout payment", "payment verification completed", "order placed")
ORDER, ORDER_PLACED, CONTACT = "order", "order placed", "service contact"


def retail_outcomes(store: Store) -> dict[str, tuple[Outcome, str]]:
    """The default journey outcomes present in ``store``: name -> (outcome, the process object type to
    search for its causes).

    - ``"contact after order"``: an order is followed by a service contact within 14 days (process: order);
    - ``"payment drop-off"``: a checkout session reached payment verification and placed no order within
      the hour (the funnel ``CHECKOUT``, dropped after step 2; process: payment).

    A "no repeat order" outcome is deliberately not among them: its units differ in how long their
    process is observed (a repeat ends the observation early), so occurrence features of the first
    order would be biased; measure repeat purchase with ``jm.impact`` instead.
    """
    types = store.event_types()
    objects = {r["type"] for r in store.query("SELECT DISTINCT type FROM object").to_pylist()}
    found: dict[str, tuple[Outcome, str]] = {}
    if {ORDER_PLACED, CONTACT} <= types.keys() and ORDER in objects:
        found["contact after order"] = (followed_by(ORDER, ORDER_PLACED, CONTACT, "14d"), ORDER)
    if set(CHECKOUT) <= types.keys() and {"session", "payment"} <= objects:
        found["payment drop-off"] = (dropped_after(list(CHECKOUT), 2, window="1h"), "payment")
    return found
