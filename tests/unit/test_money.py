from decimal import Decimal

import duckdb
import pytest

from psa_pipeline.money import money_text, quantity_text, to_cents


@pytest.mark.parametrize(
    ("hours", "rate"),
    [
        ("0.25", "150.10"),
        ("0.5", "100.01"),
        ("7.5", "185.00"),
        ("0.125", "0.20"),
        ("-0.25", "150.10"),
    ],
)
def test_python_rounds_like_the_warehouse_on_ties(hours, rate):
    with duckdb.connect() as conn:
        sql = conn.execute(
            f"select round(cast({hours} as decimal(18, 4)) * cast({rate} as decimal(18, 2)), 2)"
        ).fetchone()[0]
    assert to_cents(Decimal(hours) * Decimal(rate)) == sql


def test_texts_are_fixed_point():
    assert money_text(Decimal("1E+3")) == "1000.00"
    assert money_text(Decimal("37.525")) == "37.53"
    assert quantity_text(Decimal("10.0000")) == "10"
    assert quantity_text(Decimal("7.5000")) == "7.5"
