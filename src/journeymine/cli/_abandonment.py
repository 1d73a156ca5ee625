"""``journeymine abandonment form|cart``: where forms and carts are abandoned, and who comes back."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

import journeymine as jm
from journeymine.errors import ConfigError

from ._app import JsonOpt, StoreOpt, _edge, _emit, _pct, _require_store, _seconds, app, out

__all__ = ["abandonment"]

KINDS = ("form", "cart")


def _interval(low: float | None, high: float | None) -> str:
    return "-" if low is None else f"{100 * low:.1f}-{100 * high:.1f}"


def _percent(value: float | None, sign: str = "") -> str:
    """A share as a percentage (``sign="+"``: with its sign, for differences in percentage points)."""
    return "-" if value is None else f"{100 * value:{sign}.1f}"


def _render(result: jm.FormAbandonment | jm.CartAbandonment) -> None:
    what = "form attempts" if isinstance(result, jm.FormAbandonment) else "carts"
    out.print(f"[bold]{result.attempts:,} {what}[/bold] by {result.by} (window {_seconds(result.window_seconds)}, "
              f"data end {result.data_end:%Y-%m-%d %H:%M}): {result.abandoned:,} abandoned = "
              f"{_pct(result.abandonment_rate)} "
              f"(95 % CI {_interval(result.abandonment_low, result.abandonment_high)}%); "
              f"{result.open_attempts:,} still open and left out", highlight=False)
    out.print(f"time to abandon: median {_seconds(result.median_seconds_to_abandon)}, "
              f"mean {_seconds(result.mean_seconds_to_abandon)}", highlight=False)
    if isinstance(result, jm.FormAbandonment):
        table = Table(title="where the form was abandoned (last field touched)", title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("field", "reached", "left", "rate % (95 % CI)", "excess pp (95 % CI)", "errors"):
            table.add_column(col, justify="left" if col == "field" else "right", no_wrap=True)
        for f in result.fields:
            excess = "-" if f.excess_low is None else \
                f"{_percent(f.excess, '+')} ({_percent(f.excess_low, '+')}..{_percent(f.excess_high, '+')})"
            rate = f"{_percent(f.abandonment_rate)} ({_interval(f.abandonment_low, f.abandonment_high)})"
            table.add_row(f.field, f"{f.reached:,}", f"{f.abandoned:,}", rate, excess, f"{f.errors:,}")
        out.print(table)
        if result.abandoned_before_first_field:
            out.print(f"{result.abandoned_before_first_field:,} abandoned before focusing any field", highlight=False)
    else:
        table = Table(title="where the cart was abandoned (deepest step reached)", title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("step", "reached", "left", "drop %", "95 % CI", "share %"):
            table.add_column(col, justify="left" if col == "step" else "right", no_wrap=True)
        for i, s in enumerate(result.steps):
            table.add_row(f"{i + 1}. {s.name}", f"{s.reached:,}", f"{s.abandoned:,}", _percent(s.drop_rate),
                          _interval(s.drop_low, s.drop_high), _percent(s.share_of_abandoned))
        out.print(table)
    c = result.comebacks
    out.print(f"within {_seconds(c.window_seconds)} of abandoning ({c.eligible:,} eligible): {c.returned:,} came back "
              f"({_pct(c.returned_rate)}), {c.recovered:,} completed ({_pct(c.recovered_rate)})", highlight=False)


@app.command()
def abandonment(
    kind: Annotated[str, typer.Argument(help="form or cart.")],
    store: StoreOpt,
    by: Annotated[str, typer.Option(help="The unit: object:session (stored sessions), session (derived), "
                                         "customer or another object type.")] = "object:session",
    window: Annotated[str | None, typer.Option(help="How long an attempt may take (form 1h, cart 24h).")] = None,
    return_window: Annotated[str, typer.Option(help="How soon a comeback must follow an abandonment.")] = "48h",
    form: Annotated[str | None, typer.Option(help="form: only this form (its 'form' attribute).")] = None,
    start_event: Annotated[str, typer.Option(help="form: the event that starts an attempt.")] = "form started",
    field_event: Annotated[str, typer.Option(help="form: the event of focusing a field.")] = "form field focused",
    field_property: Annotated[str, typer.Option(help="form: the attribute naming the field.")] = "field",
    submit_event: Annotated[str, typer.Option(help="form: the event that completes an attempt.")] = "form submitted",
    error_event: Annotated[str, typer.Option(help="form: the event of a field error.")] = "form field error",
    cart_event: Annotated[str, typer.Option(help="cart: the event that starts a cart.")] = "added to cart",
    checkout_steps: Annotated[str, typer.Option(help="cart: checkout step events, comma-separated, in order.")] =
    "checkout address,checkout delivery,checkout payment",
    purchase_event: Annotated[str, typer.Option(help="cart: the event that completes a cart.")] = "order placed",
    start: Annotated[str | None, typer.Option(help="Only events at or after this ISO date/time.")] = None,
    end: Annotated[str | None, typer.Option(help="Only events before this ISO date/time.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Form or cart abandonment: rate, where (field / checkout step), time to abandon, comebacks."""
    with _edge(as_json):
        if kind not in KINDS:
            raise ConfigError(f"The kind argument must be one of {list(KINDS)}. Got {kind!r} instead.", field="kind")
        _require_store(store)
        common = dict(by=by, return_window=return_window, start=start, end=end)
        with jm.connect(store, read_only=True) as s:
            if kind == "form":
                result = jm.form_abandonment(s, start_event=start_event, field_event=field_event,
                                          field_property=field_property, submit_event=submit_event,
                                          error_event=error_event, form=form, window=window or "1h", **common)
            else:
                steps = [x.strip() for x in checkout_steps.split(",") if x.strip()]
                result = jm.cart_abandonment(s, cart_event=cart_event, checkout_steps=steps,
                                          purchase_event=purchase_event, window=window or "24h", **common)
    _emit(as_json, {"kind": kind, "abandonment": result.to_dict()}, lambda: _render(result))
