"""The filters every page shares: period, legal entity, practice, customer, and the currency
amounts are shown in. Drawn once in the sidebar by the entry script, read by every page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd

GRANULARITIES = ("Month", "Quarter", "Year")
ALL = "All"


@dataclass(frozen=True)
class Period:
    """Whole months, from `start` to `end` (first days of months)."""

    granularity: str
    start: date
    end: date
    is_partial: bool = False  # it runs on past the as-of date

    @property
    def label(self) -> str:
        if self.granularity == "Month":
            text = self.start.strftime("%b %Y")
        elif self.granularity == "Quarter":
            text = f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        else:
            text = str(self.start.year)
        return f"{text} (to date)" if self.is_partial else text

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


def _month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_of(granularity: str, month: date, as_of_on: date | None) -> Period:
    """The period of a granularity that holds a month; one that runs past the as-of date ends
    in the as-of month, and is partial."""
    if granularity == "Month":
        start = month
        length = 1
    elif granularity == "Quarter":
        start = date(month.year, (month.month - 1) // 3 * 3 + 1, 1)
        length = 3
    else:
        start = date(month.year, 1, 1)
        length = 12
    end = _month_add(start, length - 1)
    partial = as_of_on is not None and start <= as_of_on < _month_add(end, 1) - timedelta(days=1)
    if partial:
        end = as_of_on.replace(day=1)
    return Period(granularity, start, end, partial)


def previous(period: Period, as_of_on: date | None) -> Period:
    """The period of the same granularity just before."""
    length = {"Month": 1, "Quarter": 3, "Year": 12}[period.granularity]
    return period_of(period.granularity, _month_add(period.start, -length), as_of_on)


def periods(granularity: str, months: list[date], as_of_on: date | None) -> list[Period]:
    """Every period of a granularity that holds one of the months, newest first."""
    found = {period_of(granularity, m, as_of_on) for m in months}
    return sorted(found, key=lambda p: p.start, reverse=True)


@dataclass(frozen=True)
class Filters:
    period: Period
    before: Period
    legal_entity: str | None
    practice: str | None
    customer_id: str | None
    customer_name: str | None
    currency: str
    rate: Decimal  # units of the reporting currency one unit of `currency` buys

    def where(
        self,
        legal_entity: str | None = "legal_entity",
        practice: str | None = "practice",
        customer: str | None = "customer_id",
    ) -> tuple[str, list]:
        """`and ...` clauses (and their parameters) for the chosen filters, on the named
        columns; a filter whose column is None does not apply to the table."""
        clauses, params = [], []
        for column, value in (
            (legal_entity, self.legal_entity),
            (practice, self.practice),
            (customer, self.customer_id),
        ):
            if column and value is not None:
                clauses.append(f" and {column} = ?")
                params.append(value)
        return "".join(clauses), params

    def unapplied(self, **applies: bool) -> list[str]:
        """The chosen filters that a table cannot be filtered by (to say so on the page)."""
        chosen = {
            "legal_entity": self.legal_entity,
            "practice": self.practice,
            "customer": self.customer_id,
        }
        return [
            name.replace("_", " ")
            for name, value in chosen.items()
            if value is not None and not applies.get(name, False)
        ]

    def money(self, value) -> Decimal | None:
        """A reporting-currency amount in the chosen currency."""
        if value is None or pd.isna(value):
            return None
        return Decimal(str(value)) / self.rate

    def convert(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        """Reporting-currency columns in the chosen currency (a copy)."""
        frame = frame.copy()
        for column in columns:
            frame[column] = frame[column].astype("float64") / float(self.rate)
        return frame
