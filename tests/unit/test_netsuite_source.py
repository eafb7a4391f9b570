"""The NetSuite source's own pieces: dates in any form SuiteQL sends them, keyset pages over a
composite key, the TBA realm."""

import pytest

from psa_pipeline.sources.netsuite import (
    UnreadableNetSuiteDate,
    account_date_pattern,
    after_key,
    iso_dates,
    read_date,
    realm_of,
)


@pytest.mark.parametrize(
    ("date_format", "shown", "stamp", "expected"),
    [
        ("M/D/YYYY", "3/2/2026", False, "2026-03-02"),
        ("M/D/YYYY", "3/2/2026", True, "2026-03-02T00:00:00Z"),
        ("M/D/YYYY", "12/31/2026 11:05 pm", True, "2026-12-31T23:05:00Z"),
        ("M/D/YYYY", "1/5/2026 12:30 am", True, "2026-01-05T00:30:00Z"),
        ("DD/MM/YYYY", "02/03/2026", False, "2026-03-02"),
        ("DD.MM.YYYY", "02.03.2026 14:05", True, "2026-03-02T14:05:00Z"),
        ("DD.MM.YYYY", "2026-03-02T10:00:00+02:00", True, "2026-03-02T08:00:00Z"),
        ("DD.MM.YYYY", "2026-03-02T10:00:00Z", False, "2026-03-02"),
        ("YYYY-MM-DD", "2026-03-02", True, "2026-03-02T00:00:00Z"),
    ],
)
def test_dates_read_iso_or_in_the_account_format(date_format, shown, stamp, expected):
    assert read_date(shown, account_date_pattern(date_format), stamp) == expected


@pytest.mark.parametrize(
    ("date_format", "shown"),
    [("DD.MM.YYYY", "3/2/2026"), ("M/D/YYYY", "13/2/2026"), ("M/D/YYYY", "yesterday")],
)
def test_a_date_in_no_expected_form_stops_the_run_naming_the_setting(date_format, shown):
    step = iso_dates(("trandate",), (), date_format)
    with pytest.raises(UnreadableNetSuiteDate, match="SOURCES__NETSUITE__DATE_FORMAT"):
        step({"id": "7", "trandate": shown})


def test_the_next_page_follows_a_composite_key_in_order():
    key = {"nextdoc": "ptl.nextdoc", "previousdoc": "ptl.previousdoc", "linktype": "ptl.linktype"}
    row = {"nextdoc": "5701", "previousdoc": "5503", "linktype": "Payment's"}
    assert after_key(key, row) == (
        "((ptl.nextdoc > 5701) OR (ptl.nextdoc = 5701 AND ptl.previousdoc > 5503) OR "
        "(ptl.nextdoc = 5701 AND ptl.previousdoc = 5503 AND ptl.linktype > 'Payment''s'))"
    )


def test_the_realm_is_the_account_id_in_its_canonical_form():
    assert realm_of(" 1234567-sb1 ") == "1234567_SB1" and realm_of("1234567") == "1234567"
