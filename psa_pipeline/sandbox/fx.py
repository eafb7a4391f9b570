"""Daily exchange rates, as the ERP's currencyrate table holds them.

Each day's rate is the day before's moved by a small seeded random step that pulls back toward
a long-run level, so rates wander realistically but never drift off. USD is the base: the rate
is how many US dollars one unit of the other currency buys.
"""

from __future__ import annotations

import math
import random
from datetime import date
from decimal import Decimal

from psa_pipeline.sandbox.calendar import at, iso
from psa_pipeline.sandbox.store import insert

BASE_CURRENCY = "USD"
LONG_RUN = {"EUR": 1.08, "GBP": 1.27}  # USD per unit
DAILY_VOLATILITY = 0.004
PULL = 0.02  # the share of the gap to the long-run level closed each day


def publish_rates(conn, seed: int, day: date) -> None:
    rng = random.Random(f"{seed}:{day.isoformat()}:fx")
    stamp = iso(at(day, 6))
    rows = []
    for currency, level in LONG_RUN.items():
        last = conn.execute(
            "select exchangerate from netsuite_currencyrate where transactioncurrency = ? "
            "order by effectivedate desc limit 1",
            (currency,),
        ).fetchone()
        rate = float(last[0]) if last else level
        step = PULL * (math.log(level) - math.log(rate)) + rng.gauss(0, DAILY_VOLATILITY)
        rows.append(
            {
                "basecurrency": BASE_CURRENCY,
                "transactioncurrency": currency,
                "exchangerate": str(Decimal(rate * math.exp(step)).quantize(Decimal("0.000001"))),
                "effectivedate": day.isoformat(),
                "lastmodifieddate": stamp,
            }
        )
    insert(conn, "netsuite_currencyrate", rows)
