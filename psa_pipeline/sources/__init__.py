"""One dlt source per system, each on dlt's rest_api source."""

from datetime import date, timedelta

# Every incremental cursor starts before any record a firm can have.
INITIAL_CURSOR = "1970-01-01T00:00:00Z"


def month_span(month: str) -> tuple[date, date]:
    """The first day of a month given as "YYYY-MM", and the first day of the month after."""
    first = date.fromisoformat(f"{month}-01")
    return first, (first + timedelta(days=31)).replace(day=1)
