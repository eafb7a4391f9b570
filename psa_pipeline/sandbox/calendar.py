"""The firm's calendar: every stamp is UTC, to the second, from the simulated day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def iso(moment: datetime) -> str:
    """UTC, to the second, as every system of the firm stamps it; a naive moment is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_before(day: date, months: int) -> date:
    first = month_start(day)
    for _ in range(months):
        first = month_start(first - timedelta(days=1))
    return first


def months_spanned(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s to `last`'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months
