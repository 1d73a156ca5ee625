"""Contact reasons and survey comments of the simulated company, in German and English.

Each reason has a value class, the way contact analysis sorts contacts: ``valuable`` (the customer
gains something a person gives best: advice, an upgrade, feedback), ``avoidable`` (caused by a failure
upstream: a late parcel, a slow refund, damage) and ``self_service`` (a question the website or app could
answer). Texts vary in wording, case and typing like real messages do; the reason is the ground truth
a text classifier should recover.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa

__all__ = ["COMMENTS", "REASONS", "Reason", "reason_index", "texts"]


@dataclasses.dataclass(frozen=True)
class Reason:
    code: str
    value_class: str
    team: str
    de: tuple[str, ...]
    en: tuple[str, ...]


REASONS: tuple[Reason, ...] = (
    Reason("where_is_my_order", "avoidable", "logistics",
           ("Wo ist meine Bestellung?", "wo bleibt mein paket??", "Meine Bestellung ist immer noch nicht da",
            "Sendungsverfolgung zeigt seit Tagen nichts an", "Lieferung sollte gestern kommen, wo ist sie?",
            "Hallo, wann kommt endlich meine Lieferung"),
           ("Where is my order?", "my parcel still hasnt arrived", "Order not delivered yet, it was due yesterday",
            "tracking hasn't updated in days", "when will my package arrive??", "Still waiting for my delivery")),
    Reason("refund_status", "avoidable", "payments",
           ("Wann bekomme ich mein Geld zurück?", "Rückerstattung noch nicht erhalten",
            "Retoure ist angekommen aber keine Erstattung", "wo bleibt meine gutschrift"),
           ("refund still not received", "When will I get my money back?", "Returned the item weeks ago, no refund",
            "where is my refund")),
    Reason("damaged_item", "avoidable", "logistics",
           ("Ware kam beschädigt an", "Der Artikel ist kaputt angekommen", "Paket war nass und der Inhalt defekt"),
           ("item arrived damaged", "The product was broken when it arrived", "box was crushed, item is damaged")),
    Reason("change_address", "self_service", "customer care",
           ("wie ändere ich meine Adresse", "Ich bin umgezogen, wie ändere ich die Lieferadresse?",
            "Lieferadresse falsch eingegeben, bitte ändern"),
           ("how do I change my delivery address", "I moved, how can I update my address?",
            "wrong address on my order, can you change it")),
    Reason("return_howto", "self_service", "customer care",
           ("Wie kann ich etwas zurückschicken?", "wie funktioniert die Rücksendung", "Wo finde ich das Retourenlabel?"),
           ("How do I return an item?", "how does the return work", "where do I find the return label?")),
    Reason("password_reset", "self_service", "customer care",
           ("Ich komme nicht in mein Konto", "Passwort vergessen, was nun?", "login geht nicht mehr"),
           ("I can't log into my account", "forgot my password", "login not working")),
    Reason("product_advice", "valuable", "sales",
           ("Welche Größe passt mir?", "Ist die Jacke wasserdicht?", "Können Sie mir ein Zelt für 4 Personen empfehlen?"),
           ("Which size should I buy?", "is this jacket waterproof?", "can you recommend a tent for four people")),
    Reason("upgrade_interest", "valuable", "sales",
           ("Ich möchte auf die Premium-Mitgliedschaft wechseln", "Gibt es das Modell auch in der Pro-Version?"),
           ("I'd like to upgrade to premium membership", "Is there a pro version of this model?")),
    Reason("praise_feedback", "valuable", "customer care",
           ("Super Service, vielen Dank!", "Wollte nur sagen: tolle Beratung im Laden"),
           ("great service, just wanted to say thanks", "Loved the in-store advice, thank you")),
)

# Where each reason comes from in the simulation (indices into REASONS).
WISMO, REFUND, DAMAGED, CHANGE_ADDRESS, RETURN_HOWTO, PASSWORD, ADVICE, UPGRADE, PRAISE = range(len(REASONS))
BACKGROUND = np.array([CHANGE_ADDRESS, RETURN_HOWTO, PASSWORD, ADVICE, UPGRADE, PRAISE])
BACKGROUND_P = np.array([0.14, 0.20, 0.18, 0.26, 0.08, 0.14])

COMMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "low": (("Lieferung viel zu spät", "Nie wieder, keiner konnte mir helfen", "Enttäuschend", "Paket kam zu spät an"),
            ("delivery was far too late", "nobody could help me", "disappointing", "parcel came late")),
    "mid": (("ganz ok", "Hat gepasst, aber etwas langsam", "Geht so"),
            ("it was ok", "fine but a bit slow", "average experience")),
    "high": (("Alles bestens, schnelle Lieferung", "Sehr zufrieden!", "Top Beratung"),
             ("Everything perfect, fast delivery", "very happy!", "great advice")),
}


def reason_index(code: str) -> int:
    return next(i for i, r in enumerate(REASONS) if r.code == code)


def _pick(rng: np.random.Generator, pools: list[tuple[str, ...]], which: np.ndarray) -> pa.Array:
    flat = [text for pool in pools for text in pool]
    offsets = np.r_[0, np.cumsum([len(p) for p in pools])]
    sizes = np.diff(offsets)
    chosen = offsets[which] + (rng.random(which.size) * sizes[which]).astype(np.int64)
    return pa.array(flat).take(pa.array(chosen))


def texts(rng: np.random.Generator, reasons: np.ndarray, german: np.ndarray) -> pa.Array:
    """A message text per contact: a random wording of its reason in the customer's language."""
    pools = [r.de for r in REASONS] + [r.en for r in REASONS]
    return _pick(rng, pools, reasons + np.where(german, 0, len(REASONS)))


def comments(rng: np.random.Generator, band: np.ndarray, german: np.ndarray) -> pa.Array:
    """A short survey comment per answer; ``band`` 0 low, 1 mid, 2 high."""
    pools = [COMMENTS[b][0] for b in ("low", "mid", "high")] + [COMMENTS[b][1] for b in ("low", "mid", "high")]
    return _pick(rng, pools, band + np.where(german, 0, 3))
