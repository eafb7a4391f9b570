"""Great Expectations suites, one function per table, built lazily (GE is slow to import)."""

from __future__ import annotations


def time_entries_suite() -> list:
    """What must hold of every staged Harvest time entry before money is computed from it."""
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToNotBeNull(column="time_entry_id"),
        e.ExpectColumnValuesToBeUnique(column="time_entry_id"),
        e.ExpectColumnValuesToNotBeNull(column="project_code"),
        e.ExpectColumnValuesToBeBetween(column="hours", min_value=0, max_value=24),
        e.ExpectColumnValuesToMatchRegex(column="bill_rate_currency", regex=r"^[A-Z]{3}$"),
    ]
