"""What the simulated company looks like and which effects are planted: plain dataclasses with defaults.

Everything a user may change lives here, read from keyword arguments, a dict or a TOML file
(``journeymine simulate --effects effects.toml``). Unknown names and bad values raise
:class:`~journeymine.errors.ConfigError` naming the field. Magnitudes are on the scale of their KPI:
probabilities are absolute (``0.15`` = +15 percentage points), multipliers are factors.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

from ..errors import ConfigError

__all__ = ["EFFECTS", "Effects", "Persona", "World", "parse_effects"]


@dataclasses.dataclass(frozen=True)
class Persona:
    """A hidden customer type: how often they come, buy, choose express and contact the service."""

    name: str
    share: float  # of all people
    sessions_per_day: float
    cart_rate: float  # P(add to cart | session)
    existing_share: float  # P(already a customer before the period starts)
    express_share: float  # P(express | online order)
    contact_multiplier: float  # on every contact probability
    nps_mean: float  # latent mean NPS score before the delivery experience
    return_rate: float  # P(an order is partly returned)


@dataclasses.dataclass(frozen=True)
class SlowPayment:
    """Effect 1 (J2P): payment verification over ``threshold_seconds`` raises abandonment at the
    payment step by ``abandonment_increase`` (absolute)."""

    enabled: bool = True
    threshold_seconds: float = 120.0
    abandonment_increase: float = 0.15


@dataclasses.dataclass(frozen=True)
class LateDelivery:
    """Effect 2 (P2J): a delivery after its promised time raises the chance of a "where is my order"
    contact by ``wismo_increase`` (absolute, before the persona multiplier), shifts the latent NPS
    score of a delivery survey by ``nps_shift`` points and raises the chance that the customer stops
    coming back after that delivery by ``churn_increase`` (absolute)."""

    enabled: bool = True
    wismo_increase: float = 0.25
    nps_shift: float = -3.0
    churn_increase: float = 0.5


@dataclasses.dataclass(frozen=True)
class ConfusingField:
    """Effect 3 (micro-journey): at ``field`` of the checkout address form the chance to abandon the
    form rises by ``abandonment_increase`` (absolute, per person reaching the field)."""

    enabled: bool = True
    field: str = "postcode"
    abandonment_increase: float = 0.10


@dataclasses.dataclass(frozen=True)
class Confounder:
    """Effect 4 (confounder): the ``persona`` contacts the service ``contact_multiplier`` times as
    often whatever happens, and picks ``option`` (express shipping) with ``option_share``; the option
    itself changes nothing for customers (express arrives sooner but is promised sooner by as much)."""

    enabled: bool = True
    persona: str = "support_heavy"
    contact_multiplier: float = 4.0
    option_share: float = 0.55


@dataclasses.dataclass(frozen=True)
class FasterPicking:
    """Effect 5 (P2J before/after): from ``day`` (0 = the first simulated day) the median picking
    queue drops from ``median_hours_before`` to ``median_hours_after`` in the ``warehouses`` named
    (none named: in all of them); through effect 2 fewer orders arrive late and fewer customers ask
    where their order is."""

    enabled: bool = True
    day: int = 45
    median_hours_before: float = 14.0
    median_hours_after: float = 4.0
    warehouses: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class WelcomeEmail:
    """Effect 6: a random ``share`` of new customers with e-mail consent get a welcome e-mail with the
    delivery status within a day of their first order; it cuts their "where is my order" and
    "how do I" contacts about that first order by ``contact_reduction`` (relative)."""

    enabled: bool = True
    share: float = 0.5
    contact_reduction: float = 0.6


@dataclasses.dataclass(frozen=True)
class NullFraudCheck:
    """Effect 7 (null): the fraud check's duration and score vary a lot (log-normal, sigma
    ``sigma``) but it runs beside picking and changes nothing for customers. Switched off, every
    check takes exactly ``median_minutes``."""

    enabled: bool = True
    median_minutes: float = 3.0
    sigma: float = 1.6


EFFECTS: dict[str, type] = {
    "slow_payment": SlowPayment,
    "late_delivery": LateDelivery,
    "confusing_field": ConfusingField,
    "confounder": Confounder,
    "faster_picking": FasterPicking,
    "welcome_email": WelcomeEmail,
    "null_fraud_check": NullFraudCheck,
}


@dataclasses.dataclass(frozen=True)
class Effects:
    """The planted effects, each with its own parameters (see the classes above)."""

    slow_payment: SlowPayment = SlowPayment()
    late_delivery: LateDelivery = LateDelivery()
    confusing_field: ConfusingField = ConfusingField()
    confounder: Confounder = Confounder()
    faster_picking: FasterPicking = FasterPicking()
    welcome_email: WelcomeEmail = WelcomeEmail()
    null_fraud_check: NullFraudCheck = NullFraudCheck()

    def to_dict(self) -> dict[str, dict[str, object]]:
        """The parameters of every effect, JSON-shaped (lists of names as lists)."""
        return {name: {k: list(v) if isinstance(v, tuple) else v
                       for k, v in dataclasses.asdict(getattr(self, name)).items()} for name in EFFECTS}


PERSONAS = (
    Persona("bargain_hunter", 0.30, 0.16, 0.10, 0.55, 0.08, 1.0, 7.9, 0.20),
    Persona("loyal_regular", 0.25, 0.22, 0.16, 0.90, 0.12, 1.0, 9.0, 0.08),
    Persona("first_time_buyer", 0.30, 0.10, 0.12, 0.0, 0.10, 1.0, 8.4, 0.12),
    Persona("support_heavy", 0.15, 0.12, 0.13, 0.60, 0.55, 4.0, 7.6, 0.15),
)


@dataclasses.dataclass(frozen=True)
class World:
    """The company and its customers. Names are configurable; numbers are the defaults the tests
    check against (conversion of sessions lands at 1-5 %)."""

    company: str = "Nordwind Outfitters"
    start: dt.date = dt.date(2026, 1, 5)  # a Monday
    regions: tuple[str, ...] = ("north", "south", "east", "west")
    warehouses: tuple[str, ...] = ("Hamburg", "Munich", "Leipzig", "Dortmund")  # one per region
    stores: tuple[str, ...] = ("Hamburg Jungfernstieg", "Munich Marienplatz", "Leipzig Hbf", "Dortmund Westenhellweg")
    carriers: tuple[str, ...] = ("DHL", "Hermes", "DPD")
    form_fields: tuple[str, ...] = ("email", "name", "street", "postcode", "city", "phone")
    personas: tuple[Persona, ...] = PERSONAS
    products: int = 240
    sale_days: tuple[int, int] = (20, 27)  # a sale week: twice the traffic, warehouses under load
    german_share: float = 0.7
    effects: Effects = Effects()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.effects.faster_picking.warehouses) - set(self.warehouses))
        if unknown:
            raise ConfigError(f"Effect parameter faster_picking.warehouses must name warehouses of the world "
                              f"{list(self.warehouses)}; got {unknown}", field="faster_picking.warehouses")

    def persona(self, name: str) -> int:
        for i, p in enumerate(self.personas):
            if p.name == name:
                return i
        raise ConfigError(f"The persona {name!r} is not one of {[p.name for p in self.personas]}", field="persona")


_SIGNED = {"nps_shift"}  # may be negative (a shift); every other number may not
_FRACTIONS = {"abandonment_increase", "wismo_increase", "churn_increase", "option_share", "share", "contact_reduction"}


def _build(cls: type, name: str, values: dict[str, object]):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    default = cls()
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"Unknown effect parameter {name}.{key}; {name} has {sorted(fields)}", field=f"{name}.{key}")
        expected = type(getattr(default, key))
        if expected is tuple:  # a list of names (TOML arrays and Python lists or tuples)
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(f"Effect parameter {name}.{key} must be a list of names; got {value!r}",
                                  field=f"{name}.{key}")
            kwargs[key] = tuple(value)
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"Effect parameter {name}.{key} must be {expected.__name__}; got {value!r}",
                              field=f"{name}.{key}")
        if expected is float and value < 0 and key not in _SIGNED:
            raise ConfigError(f"Effect parameter {name}.{key} must not be negative; got {value!r}", field=f"{name}.{key}")
        if key in _FRACTIONS and value > 1:
            raise ConfigError(f"Effect parameter {name}.{key} is a share and must be at most 1; got {value!r}",
                              field=f"{name}.{key}")
        kwargs[key] = value
    return dataclasses.replace(default, **kwargs)


def parse_effects(effects: Effects | dict | str | Path | None) -> Effects:
    """Effects from an :class:`Effects`, a dict ``{effect: {parameter: value}}`` (``False`` switches an
    effect off) or the path of a TOML file with one table per effect; unnamed effects keep defaults."""
    if effects is None:
        return Effects()
    if isinstance(effects, Effects):
        return effects
    if isinstance(effects, (str, Path)):
        path = Path(effects)
        try:
            effects = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"The effects file {str(path)!r} does not exist", field="effects") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The effects file {str(path)!r} is not valid TOML: {exc}", field="effects") from None
    if not isinstance(effects, dict):
        raise ConfigError(f"effects must be a dict, a TOML path or Effects; got {type(effects).__name__}", field="effects")
    chosen = {}
    for name, values in effects.items():
        if name not in EFFECTS:
            raise ConfigError(f"Unknown effect {name!r}; known effects are {sorted(EFFECTS)}", field=f"effects.{name}")
        if values is False:
            values = {"enabled": False}
        if not isinstance(values, dict):
            raise ConfigError(f"Effect {name!r} needs a table of parameters or false; got {values!r}", field=f"effects.{name}")
        chosen[name] = _build(EFFECTS[name], name, values)
    return dataclasses.replace(Effects(), **chosen)
