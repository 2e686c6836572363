"""Reading ad-spend files, no database: Google Ads and Meta Ads exports as they download, a
generic file through a mapping, and every kind of row error with its spreadsheet row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from analytics import spend_csv
from analytics.spend_csv import GENERIC, GOOGLE_ADS, META_ADS, RowError

# As Google Ads downloads the campaigns report segmented by day: a title, the date range,
# then the header; totals at the bottom; numbers grouped by thousands and quoted.
GOOGLE_EXPORT = """\
Campaign report
"January 1, 2024 - January 2, 2024"
Day,Campaign,Campaign status,Currency code,Cost,Clicks,Impr.,Avg. CPC
2024-01-01,Brand search,Enabled,USD,"1,234.56","1,020","12,345",1.21
2024-01-01,Shopping - all products,Enabled,USD,87.10,150,"4,800",0.58
2024-01-02,Brand search,Enabled,USD,99.00,80,900,1.24
2024-01-02,Display remarketing,Paused,USD,0.00,--,--,--
Total: Account,,,USD,"1,420.66","1,250","18,045",1.14
Total: Search campaigns,,,USD,"1,333.56","1,100","13,245",1.21
Total: Campaigns,,,USD,"1,420.66","1,250","18,045",1.14
"""

# As Ads Manager exports the campaigns table with Breakdown → By time → Day.
META_EXPORT = """\
Reporting starts,Reporting ends,Campaign name,Campaign delivery,Attribution setting,Results,Reach,Impressions,Link clicks,Amount spent (EUR),Ends
2024-01-01,2024-01-01,Spring sale - prospecting,active,7-day click or 1-day view,12,9100,15230,310,45.67,Ongoing
2024-01-01,2024-01-01,Retargeting,active,7-day click or 1-day view,3,1200,2400,40,12.5,Ongoing
2024-01-02,2024-01-02,Spring sale - prospecting,active,7-day click or 1-day view,9,8800,14020,280,41.02,Ongoing
"""


def read(text: str | bytes, layout: str) -> spend_csv.SpendFile:
    return spend_csv.read(text.encode() if isinstance(text, str) else text, layout)


def parse(
    text: str | bytes,
    layout: str,
    mapping: dict[str, str] | None = None,
    channel: str = "",
    base: str = "USD",
) -> spend_csv.Parsed:
    spend_file = read(text, layout)
    if mapping is None:
        mapping = spend_csv.layout_mapping(layout, spend_file.header)
    return spend_csv.parse(
        spend_file, layout=layout, mapping=mapping, channel=channel, base_currency=base
    )


def only_error(parsed: spend_csv.Parsed) -> RowError:
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


# --- Google Ads -------------------------------------------------------------------------------


def test_google_export_finds_the_header_below_the_title_lines():
    spend_file = read(GOOGLE_EXPORT, GOOGLE_ADS)
    assert spend_file.header[:5] == ["Day", "Campaign", "Campaign status", "Currency code", "Cost"]
    assert spend_file.header_row == 3
    assert spend_file.sample[0]["row"] == 4  # as a spreadsheet shows it


def test_google_export_rows_totals_skipped_thousands_read():
    parsed = parse(GOOGLE_EXPORT, GOOGLE_ADS)
    assert parsed.errors == []
    assert parsed.skipped == 3  # the three "Total:" rows
    assert [(r.row, r.day, r.campaign, r.cost, r.clicks, r.impressions) for r in parsed.rows] == [
        (4, date(2024, 1, 1), "Brand search", Decimal("1234.56"), 1020, 12345),
        (5, date(2024, 1, 1), "Shopping - all products", Decimal("87.10"), 150, 4800),
        (6, date(2024, 1, 2), "Brand search", Decimal("99.00"), 80, 900),
        (7, date(2024, 1, 2), "Display remarketing", Decimal("0.00"), 0, 0),
    ]
    assert {r.channel for r in parsed.rows} == {"google / cpc"}  # as sessions with a gclid
    assert {r.currency for r in parsed.rows} == {"USD"}


def test_google_excel_csv_download_utf16_with_tabs():
    tabbed = GOOGLE_EXPORT.replace('"1,234.56"', "1234.56").replace(",", "\t")
    data = "\ufeff".encode("utf-16-le") + tabbed.encode("utf-16-le")
    parsed = parse(data, GOOGLE_ADS)
    assert parsed.errors == []
    assert [r.cost for r in parsed.rows][:2] == [Decimal("1234.56"), Decimal("87.10")]


def test_channel_given_on_upload_overrides_the_default():
    parsed = parse(GOOGLE_EXPORT, GOOGLE_ADS, channel="  google / paid-search ")
    assert {r.channel for r in parsed.rows} == {"google / paid-search"}


def test_meta_export_uploaded_as_google_says_what_is_missing():
    with pytest.raises(ValidationError) as caught:
        read(META_EXPORT, GOOGLE_ADS)
    message = caught.value.messages[0]
    assert "“Day” and “Cost”" in message
    assert "add the segment Time → Day" in message


# --- Meta Ads ---------------------------------------------------------------------------------


def test_meta_export_currency_from_the_header_and_link_clicks():
    parsed = parse(META_EXPORT, META_ADS)
    assert parsed.errors == []
    assert [
        (r.row, r.day, r.campaign, r.cost, r.currency, r.clicks, r.impressions) for r in parsed.rows
    ] == [
        (2, date(2024, 1, 1), "Spring sale - prospecting", Decimal("45.67"), "EUR", 310, 15230),
        (3, date(2024, 1, 1), "Retargeting", Decimal("12.50"), "EUR", 40, 2400),
        (4, date(2024, 1, 2), "Spring sale - prospecting", Decimal("41.02"), "EUR", 280, 14020),
    ]
    assert {r.channel for r in parsed.rows} == {"facebook / paid-social"}  # as fbclid sessions


def test_meta_summary_row_without_a_campaign_is_skipped():
    with_summary = META_EXPORT.replace(
        "2024-01-01,2024-01-01,Spring",
        "2024-01-01,2024-01-02,,,,24,19100,31650,630,99.19,\n2024-01-01,2024-01-01,Spring",
        1,
    )
    parsed = parse(with_summary, META_ADS)
    assert parsed.errors == []
    assert parsed.skipped == 1
    assert len(parsed.rows) == 3


def test_meta_row_covering_more_than_a_day_is_an_error():
    monthly = META_EXPORT.replace("2024-01-02,2024-01-02", "2024-01-02,2024-01-31")
    error = only_error(parse(monthly, META_ADS))
    assert error.row == 4
    assert "covers 2024-01-02 to 2024-01-31, not one day" in error.message
    assert "Breakdown → By time → Day" in error.message


def test_google_export_uploaded_as_meta_is_refused():
    with pytest.raises(ValidationError) as caught:
        read(GOOGLE_EXPORT, META_ADS)
    assert "“Reporting starts” and “Amount spent”" in caught.value.messages[0]


# --- Generic ----------------------------------------------------------------------------------

GENERIC_FILE = """\
Datum;Quelle;Kampagne;Kosten;Währung;Klicks
15.01.2024;newsletter / email;Winter;1.234,50;eur;12
16.01.2024;;Winter;99,9;EUR;
"""
GENERIC_MAPPING = {
    "date": "Datum",
    "channel": "Quelle",
    "campaign": "Kampagne",
    "cost": "Kosten",
    "currency": "Währung",
    "clicks": "Klicks",
}


def test_generic_file_through_a_mapping():
    parsed = parse(GENERIC_FILE, GENERIC, GENERIC_MAPPING, channel="bing / cpc")
    assert parsed.errors == []
    assert [(r.day, r.channel, r.cost, r.currency, r.clicks) for r in parsed.rows] == [
        (date(2024, 1, 15), "newsletter / email", Decimal("1234.50"), "EUR", 12),
        # A blank channel cell takes the channel given for the file.
        (date(2024, 1, 16), "bing / cpc", Decimal("99.90"), "EUR", 0),
    ]


def test_generic_guess_and_the_cost_currency_from_its_column_name():
    text = "Date,Campaign,Spend (GBP),Impressions\n2024-03-01,Launch,10.00,100\n"
    spend_file = read(text, GENERIC)
    mapping = spend_csv.layout_mapping(GENERIC, spend_file.header)
    assert mapping == {
        "date": "Date",
        "campaign": "Campaign",
        "cost": "Spend (GBP)",
        "impressions": "Impressions",
    }
    parsed = parse(text, GENERIC, mapping, channel="tiktok / paid-social")
    assert [(r.cost, r.currency) for r in parsed.rows] == [(Decimal("10.00"), "GBP")]


def test_generic_without_currency_is_in_the_base_currency():
    parsed = parse(
        "day,cost\n2024-03-01,5\n", GENERIC, {"date": "day", "cost": "cost"}, "x / y", "CHF"
    )
    assert parsed.rows[0].currency == "CHF"


def test_generic_mapping_errors_say_what_to_choose():
    header = ["a", "b", "c"]
    assert spend_csv.mapping_errors(header, {"date": "a", "cost": "b"}, "bing / cpc") == []
    errors = spend_csv.mapping_errors(header, {"date": "a", "campaign": "a"}, "")
    assert any("cost" in e and "every row needs one" in e for e in errors)
    assert any("“a” is chosen for Date, Campaign" in e for e in errors)
    assert any("which channel" in e for e in errors)
    assert spend_csv.mapping_errors(header, {"date": "a", "cost": "zzz"}, "x")[0].startswith(
        "Cost: the file has no column “zzz”"
    )
    assert (
        "not a figure"
        in spend_csv.mapping_errors(header, {"date": "a", "cost": "b", "profit": "c"}, "x")[0]
    )


def test_generic_rows_without_any_channel_are_errors():
    parsed = parse("day,cost\n2024-03-01,5\n", GENERIC, {"date": "day", "cost": "cost"}, "")
    assert [(e.row, e.message) for e in parsed.errors] == [(2, "the channel is missing")]


# --- Row errors -------------------------------------------------------------------------------

HEADER = "Day,Campaign,Currency code,Cost,Clicks,Impr.\n"


@pytest.mark.parametrize(
    ("line", "column", "value", "message"),
    [
        (",Brand,USD,1.00,1,1", "Day", "", "the date is missing"),
        ("2024-13-01,Brand,USD,1.00,1,1", "Day", "2024-13-01", "not a date"),
        ("yesterday,Brand,USD,1.00,1,1", "Day", "yesterday", "not a date"),
        ("2024-01-01,Brand,USD,-5.00,1,1", "Cost", "-5.00", "the cost cannot be negative"),
        ('2024-01-01,Brand,USD,"(5.00)",1,1', "Cost", "(5.00)", "the cost cannot be negative"),
        ("2024-01-01,Brand,USD,free,1,1", "Cost", "free", "the cost is not a number"),
        ("2024-01-01,Brand,USD,,1,1", "Cost", "", "the cost is missing"),
        ("2024-01-01,Brand,USD,1.00,lots,1", "Clicks", "lots", "not a whole number"),
        ("2024-01-01,Brand,USD,1.00,1.5,1", "Clicks", "1.5", "not a whole number"),
        ("2024-01-01,Brand,USD,1.00,1,-3", "Impr.", "-3", "cannot be negative"),
        ("2024-01-01,Brand,dollars,1.00,1,1", "Currency code", "dollars", "not a currency code"),
        ("2024-01-01," + "x" * 201 + ",USD,1.00,1,1", "Campaign", "x" * 201, "longer than 200"),
    ],
)
def test_each_bad_value_is_a_row_error_naming_row_column_and_value(line, column, value, message):
    text = f"Campaign report\n{HEADER}2024-01-01,Fine,USD,1.00,1,1\n{line}\n"
    error = only_error(parse(text, GOOGLE_ADS))
    assert (error.row, error.column, error.value) == (4, column, value)
    assert message in error.message
    assert set(error.as_dict()) == {"row", "column", "value", "message"}


def test_every_problem_of_a_row_is_reported():
    parsed = parse(f"{HEADER}someday,Brand,US,-1,x,1\n", GOOGLE_ADS)
    assert [(e.row, e.column) for e in parsed.errors] == [
        (2, "Day"),
        (2, "Currency code"),
        (2, "Cost"),
        (2, "Clicks"),
    ]
    assert parsed.rows == []


def test_a_day_channel_and_campaign_twice_is_an_error_not_a_sum():
    lines = [
        "Campaign report",
        "All time",
        HEADER.strip(),
        "2024-01-01,Brand,USD,1.00,1,1",  # row 4
        "2024-01-01,Other,USD,1.00,1,1",
        "2024-01-02,Brand,USD,1.00,1,1",
        "",
        "2024-01-03,Brand,USD,1.00,1,1",
        "2024-01-01,Brand,USD,2.00,2,2",  # row 9
    ]
    error = only_error(parse("\n".join(lines) + "\n", GOOGLE_ADS))
    assert error.row == 9
    assert "appears twice in the file, rows 4 and 9" in error.message


def test_unknown_currency_is_reported_with_the_rates_given():
    rows = parse(
        f"{HEADER}2024-01-01,A,USD,1,1,1\n2024-01-01,B,EUR,1,1,1\n2024-01-01,C,JPY,1,1,1\n",
        GOOGLE_ADS,
    ).rows
    errors = spend_csv.currency_errors(
        rows, {"USD": Decimal(1), "EUR": Decimal("1.1")}, column="Currency code"
    )
    assert [(e.row, e.column, e.value) for e in errors] == [(4, "Currency code", "JPY")]
    assert "no exchange rate for JPY" in errors[0].message


# --- Files that cannot be read ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "layout", "words"),
    [
        (b"", GENERIC, "The file is empty."),
        (b"PK\x03\x04rest of a zip", GOOGLE_ADS, "spreadsheet workbook"),
        (b"Day,Cost\n", GOOGLE_ADS, "no spend rows below it"),
        (b"Campaign report\nnothing here\n", GOOGLE_ADS, "not a Google Ads export"),
        (b"D\x00a\x00y\x00,\x00", GENERIC, "not a CSV text file"),  # UTF-16 without its mark
    ],
)
def test_unreadable_files_say_why(data, layout, words):
    with pytest.raises(ValidationError) as caught:
        spend_csv.read(data, layout)
    assert words in " ".join(caught.value.messages)


def test_too_many_rows_is_refused(monkeypatch):
    monkeypatch.setattr(spend_csv, "MAX_ROWS", 2)
    with pytest.raises(ValidationError) as caught:
        read(
            f"{HEADER}2024-01-01,A,USD,1,1,1\n2024-01-02,A,USD,1,1,1\n2024-01-03,A,USD,1,1,1\n",
            GOOGLE_ADS,
        )
    assert caught.value.code == "too_many_rows"


# --- Dates and numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15",
        "2024-01-15 00:00:00",
        "2024-01-15T00:00:00Z",
        "2024/01/15",
        "15.01.2024",
        "01/15/2024",
        "15/01/2024",
        "1/15/24",
        "Jan 15, 2024",
        "January 15, 2024",
        "Mon, Jan 15, 2024",
        "15 Jan 2024",
        "15-Jan-2024",
    ],
)
def test_common_export_date_formats(text):
    assert spend_csv.parse_date(text) == (date(2024, 1, 15), None)


def test_slash_dates_follow_the_order_the_file_shows():
    values = ["03/02/2024", "25/02/2024"]  # 25 can only be a day: the file is day first
    order = spend_csv.slash_order(values)
    assert order == spend_csv.DAY_FIRST
    assert spend_csv.parse_date("03/02/2024", order) == (date(2024, 2, 3), None)
    assert spend_csv.parse_date("03/02/2024", spend_csv.MONTH_FIRST) == (date(2024, 3, 2), None)
    day, message = spend_csv.parse_date("03/02/2024")
    assert day is None and "YYYY-MM-DD" in (message or "")


def test_ambiguous_dates_in_a_file_are_errors_unless_another_row_tells():
    mapping = {"date": "d", "cost": "c"}
    ambiguous = parse("d,c\n03/02/2024,1\n04/02/2024,1\n", GENERIC, mapping, "x / y")
    assert [e.row for e in ambiguous.errors] == [2, 3]
    told = parse("d,c\n03/02/2024,1\n04/02/2024,1\n02/13/2024,1\n", GENERIC, mapping, "x / y")
    assert told.errors == []
    assert [r.day for r in told.rows] == [date(2024, 3, 2), date(2024, 4, 2), date(2024, 2, 13)]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("$1,234.56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1'234.56", "1234.56"),
        ("12,5", "12.5"),
        ("1,234", "1234"),
        ("1,234,567", "1234567"),
        ("1.234.567", "1234567"),
        ("0.5", "0.5"),
        ("(12.00)", "-12.00"),
    ],
)
def test_numbers_as_exports_write_them(text, number):
    assert spend_csv.parse_number(text) == Decimal(number)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3,4,5", "NaN", "Infinity"])
def test_not_numbers(text):
    assert spend_csv.parse_number(text) is None


def test_cost_rounded_to_the_cent_half_up():
    parsed = parse(f"{HEADER}2024-01-01,A,USD,0.125,1,1\n", GOOGLE_ADS)
    assert parsed.rows[0].cost == Decimal("0.13")


# --- Rows sent as JSON ------------------------------------------------------------------------


def test_items_from_the_api():
    parsed = spend_csv.parse_items(
        [
            {"date": "2024-01-01", "channel": "google / cpc", "campaign": "A", "cost": 12.5},
            {
                "date": "2024-01-01",
                "channel": "google / cpc",
                "cost": "3",
                "currency": "eur",
                "clicks": 4,
                "impressions": 50,
            },
        ],
        base_currency="USD",
    )
    assert parsed.errors == []
    assert [(r.row, r.campaign, r.cost, r.currency, r.clicks) for r in parsed.rows] == [
        (1, "A", Decimal("12.50"), "USD", 0),
        (2, "", Decimal("3.00"), "EUR", 4),
    ]


def test_item_errors_name_the_field():
    parsed = spend_csv.parse_items(
        [
            {"date": "2024-01-01", "channel": "", "cost": -1},
            "not an object",
            {"date": "2024-01-01", "channel": "c", "cost": 1, "impresions": 3},
            {"date": "2024-01-01", "channel": "c", "cost": True},
            {"date": "2024-01-01", "channel": "c", "cost": 1},
            {"date": "2024-01-01", "channel": "c", "cost": 2},
        ],
        base_currency="USD",
    )
    assert [(e.row, e.column) for e in parsed.errors] == [
        (1, "channel"),
        (1, "cost"),
        (2, ""),
        (3, "impresions"),
        (4, "cost"),
        (6, ""),
    ]
    assert "appears twice in the list, rows 5 and 6" in parsed.errors[-1].message


# --- Preview ----------------------------------------------------------------------------------


def test_preview_shows_the_sample_as_it_will_be_imported():
    spend_file = read(GOOGLE_EXPORT.replace("87.10", "eighty"), GOOGLE_ADS)
    rows = spend_csv.preview(
        header=spend_file.header,
        sample=spend_file.sample,
        layout=GOOGLE_ADS,
        mapping=spend_csv.layout_mapping(GOOGLE_ADS, spend_file.header),
        channel="",
        base_currency="USD",
    )
    assert rows[0].cells == [
        "2024-01-01",
        "google / cpc",
        "Brand search",
        "1234.56",
        "USD",
        "1020",
        "12345",
    ]
    assert rows[1].problems == ["Cost: the cost is not a number"]
    assert [r.skipped for r in rows[-3:]] == [True, True, True]
