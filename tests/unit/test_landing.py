"""The page step's parts: why a record is refused, and how a page becomes an Arrow table."""

from decimal import Decimal

import pyarrow as pa
import pytest

from psa_pipeline.sources.landing import (
    RecordRules,
    UntypedColumn,
    declared_arrow_types,
    flatten,
    in_utc,
    problem_with,
    quarantine_row,
    to_arrow,
    utc_instant,
)

TIME_ENTRY = RecordRules(required=("project.id",), numbers={"hours": (0, 24)})


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": 1, "project": {"id": 5}, "hours": 8}, None),
        ({"project": {"id": 5}, "hours": 8}, "no id"),
        ({"id": 1, "project": None, "hours": 8}, "no project.id"),
        ({"id": 1, "project": {"id": 5}, "hours": "seven"}, "hours is not a number: 'seven'"),
        ({"id": 1, "project": {"id": 5}, "hours": True}, "hours is not a number: True"),
        ({"id": 1, "project": {"id": 5}, "hours": 24.5}, "hours 24.5 is outside [0, 24]"),
        ({"id": 1, "project": {"id": 5}, "hours": 2, "rate": "n/a"}, "rate is not a number: 'n/a'"),
        ("not a record", "not an object: str"),
    ],
)
def test_a_record_is_refused_with_the_first_reason_it_cannot_land(record, reason):
    assert problem_with(record, ("id",), TIME_ENTRY, decimals=("rate",)) == reason


def test_currencies_must_be_iso_4217():
    rules = RecordRules(currencies=("client.currency",))
    assert problem_with({"id": 1, "client": {"currency": "EUR"}}, ("id",), rules, ()) is None
    assert problem_with({"id": 1, "client": {"currency": "XXX"}}, ("id",), rules, ()) == (
        "client.currency 'XXX' is not an ISO 4217 currency"
    )


def test_objects_flatten_to_columns_and_lists_stay_whole():
    record = {"id": 1, "project": {"id": 5, "client": {"name": "A"}}, "tags": [2, 1]}
    assert flatten(record) == {
        "id": 1,
        "project__id": 5,
        "project__client__name": "A",
        "tags": "[2, 1]",
    }


def test_a_field_missing_from_the_first_row_still_becomes_a_column():
    """SuiteQL leaves null fields out: the columns are those of every row, not the first."""
    page = to_arrow([{"id": "1"}, {"id": "2", "custcol_time_entry_id": "7"}], ("id",), {})
    assert page.column("custcol_time_entry_id").to_pylist() == [None, "7"]


def test_a_page_is_typed_as_dlt_types_dicts():
    page = to_arrow(
        [
            {"id": 1, "hours": 8, "at": "2026-10-01T09:00:00Z", "never": None},
            {"id": 2, "hours": 7.25, "at": "2026-10-01T10:00:00+02:00", "never": None},
        ],
        ("id",),
        {"hours": pa.decimal128(18, 4)},
    )
    assert page.column("hours").to_pylist() == [Decimal("8.0000"), Decimal("7.2500")]
    assert page.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert [t.hour for t in page.column("at").to_pylist()] == [9, 8]
    assert "never" not in page.column_names  # created when it first has a value
    assert not page.schema.field("id").nullable


def test_text_that_is_not_all_timestamps_stays_text():
    page = to_arrow(
        [{"id": 1, "note": "2026-10-01T09:00:00Z"}, {"id": 2, "note": "soon"}], ("id",), {}
    )
    assert page.schema.field("note").type == pa.string()


def test_a_column_of_mixed_kinds_is_a_clear_error():
    with pytest.raises(UntypedColumn, match="column 'code' mixes int, str values"):
        to_arrow([{"id": 1, "code": 5}, {"id": 2, "code": "A-5"}], ("id",), {})


def test_a_record_sent_broken_again_keeps_its_quarantine_row():
    first = quarantine_row("time_entries", ("id",), {"id": 9, "hours": -1}, "negative")
    again = quarantine_row("time_entries", ("id",), {"id": 9, "hours": -2}, "negative")
    keyless = quarantine_row("time_entries", ("id",), {"hours": -1}, "no id")
    assert first["quarantine_id"] == again["quarantine_id"] != keyless["quarantine_id"]
    assert first["record_key"] == "9" and keyless["record_key"] is None
    pair = quarantine_row(
        "deal_companies",
        ("deal_id", "company_id"),
        {"deal_id": "1", "company_id": "2", "x": 1},
        "odd",
    )
    assert pair["record_key"] == "1|2"


def test_nested_records_flatten_in_arrow_as_flatten_does_in_python():
    records = [
        {"id": 1, "project": {"id": 5, "client": {"name": "A"}}, "tags": [2, 1], "invoice": None},
        {"id": 2, "project": {"id": 6, "client": None}, "tags": None, "invoice": {"id": 9}},
    ]
    page = to_arrow(records, ("id",), {})
    assert sorted(page.column_names) == sorted(
        ["id", "project__id", "project__client__name", "tags", "invoice__id"]
    )
    assert page.column("tags").to_pylist() == ["[2, 1]", None]
    assert page.column("project__client__name").to_pylist() == ["A", None]
    assert page.column("invoice__id").to_pylist() == [None, 9]


def test_a_nested_field_of_mixed_kinds_is_named_in_the_error():
    with pytest.raises(UntypedColumn, match="column 'project__code' mixes int, str values"):
        to_arrow(
            [{"id": 1, "project": {"code": 5}}, {"id": 2, "project": {"code": "A"}}], ("id",), {}
        )


DECLARED = declared_arrow_types(
    {
        "id": {"data_type": "text"},
        "parentCompanyId": {"data_type": "text"},
        "amount": {"data_type": "decimal", "precision": 18, "scale": 2},
        "closed_on": {"data_type": "date"},
        "status.lastChanged": {"data_type": "timestamp"},
    }
)


def test_an_empty_page_is_a_table_of_every_declared_column():
    page = to_arrow([], ("id",), DECLARED)
    assert page.num_rows == 0
    assert page.schema.field("parent_company_id").type == pa.string()
    assert page.schema.field("amount").type == pa.decimal128(18, 2)
    assert page.schema.field("status__last_changed").type == pa.timestamp("us", tz="UTC")
    assert not page.schema.field("id").nullable


def test_a_declared_field_no_record_carries_is_still_a_column():
    """A tenant with no parent companies: the field is null or absent on every record."""
    page = to_arrow(
        [
            {"id": "1", "amount": "10.5", "closed_on": "2024-03-14"},
            {
                "id": "2",
                "parentCompanyId": None,
                "status": {"lastChanged": "2024-03-14T10:00:00-07:00"},
            },
        ],
        ("id",),
        DECLARED,
    )
    assert page.column("parent_company_id").to_pylist() == [None, None]
    assert page.column("amount").to_pylist() == [Decimal("10.50"), None]
    assert str(page.column("closed_on")[0].as_py()) == "2024-03-14"
    assert page.column("status__last_changed")[1].as_py().hour == 17


def test_a_declared_column_that_does_not_parse_is_a_clear_error():
    with pytest.raises(UntypedColumn, match="column 'closed_on' is declared date32.*'3/14/2024'"):
        to_arrow([{"id": "1", "closed_on": "3/14/2024"}], ("id",), DECLARED)


def test_timestamps_with_offsets_compare_as_instants_once_in_utc():
    pacific_daylight = "2018-11-04T01:30:00-07:00"  # 08:30 UTC
    pacific_standard = "2018-11-04T01:10:00-08:00"  # 09:10 UTC: later, though it sorts first
    assert pacific_standard < pacific_daylight
    assert utc_instant(pacific_standard) > utc_instant(pacific_daylight)
    assert utc_instant("2019-10-30T03:30:17Z") < utc_instant("2019-10-30T03:30:17.5Z")
    assert utc_instant("2011-08-14") == "2011-08-14" and utc_instant(None) is None
    record = {"updated_at": pacific_standard, "status": {"lastChanged": "2024-01-01T00:00:00Z"}}
    assert in_utc("updated_at", "status.lastChanged", "absent.field")(record) == {
        "updated_at": "2018-11-04T09:10:00.000000Z",
        "status": {"lastChanged": "2024-01-01T00:00:00.000000Z"},
    }
