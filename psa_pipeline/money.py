"""Money arithmetic shared by every Python path that produces an amount.

Amounts are rounded half away from zero, the way SQL's round() (DuckDB and Postgres) rounds
DECIMAL values: a line computed in Python and the same line computed by a dbt model must agree to
the cent, including on ties. Python's default, half to even, would not.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    """A fixed-point string with two decimals, never an exponent."""
    return format(to_cents(value), "f")


def quantity_text(value: Decimal) -> str:
    """A quantity without trailing zeros and without an exponent: 10.0000 -> '10'."""
    return format(value.normalize(), "f")
