"""Reading ad-spend files: Google Ads and Meta Ads exports as they download them, and any other
CSV through a column mapping. Pure: no database here (currencies are checked against the rates
the caller passes in).

File-level checks (size, encoding, delimiter, workbooks) are the contact import's
(`leads.csv_import.parsing`); what is particular to spend is finding the header below the
title lines the ad platforms write, skipping their totals rows, and reading their numbers.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.csv_import import parsing

GOOGLE_ADS = "google_ads"  # SpendImport.Layout values; the model is not imported here
META_ADS = "meta_ads"
GENERIC = "generic"
LAYOUTS = (GOOGLE_ADS, META_ADS, GENERIC)

# The labels sessions get for the same traffic (leads.ingest.attribution.channel_of: gclid →
# "google / cpc", fbclid → "facebook / paid-social"), so spend and revenue meet on one key.
DEFAULT_CHANNELS = {GOOGLE_ADS: "google / cpc", META_ADS: "facebook / paid-social"}

TARGETS = ("date", "channel", "campaign", "cost", "currency", "clicks", "impressions")
REQUIRED = ("date", "cost")
DATE_END = "date_end"  # Meta's "Reporting ends": checked, never stored
TARGET_LABELS: dict[str, Any] = {
    "date": gettext_lazy("Date"),
    "channel": gettext_lazy("Channel"),
    "campaign": gettext_lazy("Campaign"),
    "cost": gettext_lazy("Cost"),
    "currency": gettext_lazy("Currency"),
    "clicks": gettext_lazy("Clicks"),
    "impressions": gettext_lazy("Impressions"),
    DATE_END: gettext_lazy("Reporting ends"),
}

HEADER_SEARCH_LINES = 10  # title and date-range lines the platforms write above the header
MAX_ROWS = 100_000  # imported in the request: about 270 campaigns for a year, day by day
MAX_ERRORS = 1_000  # kept on the import; a file with more is fixed a thousand at a time
CHANNEL_MAX = 80  # AdSpend.channel / campaign max_length
CAMPAIGN_MAX = 200
MAX_COST = Decimal("1e12")  # AdSpend.cost has 14 digits, 2 after the point
MAX_COUNT = 2**63 - 1
CENT = Decimal("0.01")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Header names (squeezed by `_key`) of each layout's columns; the first column found wins.
GOOGLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("day", "date"),
    "campaign": ("campaign", "campaignname"),
    "cost": ("cost",),
    "currency": ("currencycode", "currency"),
    "clicks": ("clicks",),
    "impressions": ("impr", "impressions"),
}
META_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("reportingstarts",),
    DATE_END: ("reportingends",),
    "campaign": ("campaignname", "campaign"),
    "cost": ("amountspent",),  # "Amount spent (USD)": matched on the start, see _find
    "clicks": ("linkclicks", "clicksall", "clicks"),
    "impressions": ("impressions",),
}
GENERIC_GUESSES: dict[str, tuple[str, ...]] = {
    "date": ("date", "day", "reportingstarts"),
    "channel": ("channel", "sourcemedium", "source"),
    "campaign": ("campaign", "campaignname"),
    "cost": ("cost", "spend", "amountspent", "amount", "adspend"),
    "currency": ("currency", "currencycode"),
    "clicks": ("clicks", "linkclicks"),
    "impressions": ("impressions", "impr"),
}
LAYOUT_COLUMNS = {GOOGLE_ADS: GOOGLE_COLUMNS, META_ADS: META_COLUMNS}
# Column names a layout's header row must have, as the person sees them in the export.
HEADER_NEEDS = {GOOGLE_ADS: ("Day", "Cost"), META_ADS: ("Reporting starts", "Amount spent")}
WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # xlsx (zip) and xls signatures
_PREFIXED = {"amountspent", "cost", "spend"}  # names that carry the currency: "Cost (EUR)"
_HEADER_CURRENCY = re.compile(r"\(\s*([A-Za-z]{3})\s*\)\s*$")


def _find(header: list[str], names: tuple[str, ...]) -> str | None:
    keys = [_key(column) for column in header]
    for name in names:
        for column, key in zip(header, keys, strict=True):
            if key == name or (
                name in _PREFIXED and key.startswith(name) and header_currency(column)
            ):
                return column
    return None


def header_currency(column: str) -> str | None:
    """The currency a header names, as Meta writes it: "Amount spent (EUR)" → "EUR"."""
    found = _HEADER_CURRENCY.search(column)
    return found.group(1).upper() if found else None


def layout_mapping(layout: str, header: list[str]) -> dict[str, str]:
    """{target: column} of an ad platform's export, or the guess offered for a generic file."""
    names = LAYOUT_COLUMNS.get(layout, GENERIC_GUESSES)
    mapping: dict[str, str] = {}
    for target, aliases in names.items():
        column = _find(header, aliases)
        if column is not None and column not in mapping.values():
            mapping[target] = column
    return mapping


def mapping_errors(header: list[str], mapping: Mapping[str, str], channel: str) -> list[str]:
    """What is wrong with a generic mapping, in words the person can act on."""
    errors = []
    for target, column in mapping.items():
        if target not in TARGET_LABELS:
            errors.append(_("“%(target)s” is not a figure spend has.") % {"target": target})
        elif column and column not in header:
            errors.append(
                _("%(target)s: the file has no column “%(column)s”.")
                % {"target": TARGET_LABELS.get(target, target), "column": column}
            )
    for target in REQUIRED:
        if not mapping.get(target):
            errors.append(
                _("Choose the column that holds the %(target)s: every row needs one.")
                % {"target": str(TARGET_LABELS[target]).lower()}
            )
    used: dict[str, list[str]] = {}
    for target, column in mapping.items():
        if column:
            used.setdefault(column, []).append(str(TARGET_LABELS.get(target, target)))
    for column, targets in used.items():
        if len(targets) > 1:
            errors.append(
                _("Column “%(column)s” is chosen for %(targets)s: choose it once.")
                % {"column": column, "targets": ", ".join(targets)}
            )
    if not mapping.get("channel") and not channel.strip():
        errors.append(
            _(
                "Say which channel the spend is for (for example “google / cpc”), or choose "
                "the column that holds it."
            )
        )
    if len(channel.strip()) > CHANNEL_MAX:
        errors.append(_("The channel is longer than %(n)s characters.") % {"n": CHANNEL_MAX})
    return errors


# --- The file ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendFile:
    """An upload, read: the text from its header row on, and where that row is."""

    text: bytes  # UTF-8, from the header row on
    encoding: str
    delimiter: str
    header: list[str]
    header_row: int  # as a spreadsheet numbers it (1 = first line)
    sample: list[dict[str, Any]]  # {"row": spreadsheet row, "cells": [...]}
    rows_total: int  # records below the header, blank and totals rows included

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(spreadsheet row, cells) of every record below the header."""
        reader = parsing.records(self.text, self.encoding, self.delimiter)
        next(reader, None)
        return enumerate(reader, start=self.header_row + 1)


def _utf8(data: bytes) -> bytes:
    """Google Ads' "Excel CSV" download is UTF-16 with tabs: read it as the UTF-8 it says."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return codecs.BOM_UTF8 + data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return data  # the checks below say it is not UTF-8 text
    return data


def _header_line(data: bytes, layout: str) -> int:
    """Index of the header line: the first line naming the layout's columns (0 for generic)."""
    if layout not in LAYOUT_COLUMNS:
        return 0
    for index, line in enumerate(data.split(b"\n")[:HEADER_SEARCH_LINES]):
        text = line.decode("utf-8-sig", errors="replace").strip("\r")
        for delimiter in parsing.DELIMITERS:
            cells = next(csv.reader([text], delimiter=delimiter), [])
            mapping = layout_mapping(layout, [cell.strip() for cell in cells])
            if all(target in mapping for target in REQUIRED):
                return index
    first, second = HEADER_NEEDS[layout]
    hints = {
        GOOGLE_ADS: _(
            "In Google Ads add the segment Time → Day to the campaigns report, then download it "
            "as CSV."
        ),
        META_ADS: _(
            "In Ads Manager choose Breakdown → By time → Day, then Export table data as CSV."
        ),
    }
    raise ValidationError(
        _(
            "No header row with the columns “%(first)s” and “%(second)s” in the first "
            "%(lines)s lines, so this is not a %(layout)s export as expected. %(hint)s Or "
            "choose “Other” as the layout and map the columns yourself."
        )
        % {
            "first": first,
            "second": second,
            "lines": HEADER_SEARCH_LINES,
            "layout": _("Google Ads") if layout == GOOGLE_ADS else _("Meta Ads"),
            "hint": hints[layout],
        },
        code="no_header",
    )


def read(data: bytes, layout: str) -> SpendFile:
    """Check an upload and find its header; ValidationError says what is wrong and what to do."""
    parsing.check_size(len(data))  # before anything is decoded
    data = _utf8(data)
    skip = 0
    # What is not text at all (empty, a workbook, UTF-16 without its mark) is for read_file
    # to name; a header is looked for in text only.
    if data.strip() and b"\x00" not in data and not data.startswith(WORKBOOKS):
        skip = _header_line(data, layout)
    lines = data.split(b"\n", skip) if skip else [data]
    text = lines[-1]
    if skip and data.startswith(codecs.BOM_UTF8):
        text = codecs.BOM_UTF8 + text
    try:
        described = parsing.read_file(text)
    except ValidationError as error:
        # The contact import's words for two cases would speak of contacts.
        if error.code == "no_rows":
            raise ValidationError(
                _("The file has a header row but no spend rows below it."), code="no_rows"
            ) from error
        if error.code == "no_header":
            raise ValidationError(
                _("The first row must name the columns (for example Date, Campaign, Cost)."),
                code="no_header",
            ) from error
        raise
    if described.rows_total > MAX_ROWS:
        raise ValidationError(
            _("The file has %(n)s rows; at most %(max)s are imported at once. Split it by month.")
            % {"n": described.rows_total, "max": MAX_ROWS},
            code="too_many_rows",
        )
    sample = [{"row": s["row"] + skip, "cells": s["cells"]} for s in described.sample]
    return SpendFile(
        text=text,
        encoding=described.encoding,
        delimiter=described.delimiter,
        header=described.header,
        header_row=skip + 1,
        sample=sample,
        rows_total=described.rows_total,
    )


# --- Rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendRow:
    row: int  # spreadsheet row, or position in an API list (1 = first)
    day: date
    channel: str
    campaign: str
    currency: str
    cost: Decimal
    clicks: int
    impressions: int

    @property
    def key(self) -> tuple[date, str, str]:
        return (self.day, self.channel, self.campaign)


@dataclass(frozen=True)
class RowError:
    row: int | None  # None: about the whole file
    column: str  # column name (CSV) or field name (API); "" for the whole row
    value: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Parsed:
    rows: list[SpendRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: int = 0  # blank rows and the platforms' totals rows


_BLANKS = {"", "-", "--", "—"}  # how exports write "no data"
_NUMBER_NOISE = re.compile("[\\s\u00a0\u202f'\u2019$€£¥₹]")  # spaces, apostrophes, symbols
_THOUSANDS_COMMAS = re.compile(r"\d{1,3}(,\d{3})+")
_THOUSANDS_DOTS = re.compile(r"\d{1,3}(\.\d{3}){2,}")


def parse_number(raw: str) -> Decimal | None:
    """A number as exports write it, or None when it is not one.

    "1,234.56", "1.234,56", "$1,234.56", "1 234,56" and "(12.00)" (negative) are read;
    a lone comma between digits in groups of three ("1,234") is a thousands separator.
    """
    text = _NUMBER_NOISE.sub("", raw)
    if text.startswith("(") and text.endswith(")"):
        text = "-" + text[1:-1]
    if "," in text and "." in text:
        if text.rindex(",") > text.rindex("."):  # "1.234,56"
            text = text.replace(".", "").replace(",", ".")
        else:  # "1,234.56"
            text = text.replace(",", "")
    elif "," in text:
        digits = text.lstrip("+-")
        text = text.replace(",", "" if _THOUSANDS_COMMAS.fullmatch(digits) else ".")
    elif _THOUSANDS_DOTS.fullmatch(text.lstrip("+-")):  # "1.234.567"
        text = text.replace(".", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_YMD = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})")  # 15.01.2024: day first
_SLASHED = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})")  # 01/15/2024 or 15/01/2024
NAMED_FORMATS = (
    "%b %d, %Y",  # Jan 15, 2024 (Google Ads in US English)
    "%B %d, %Y",
    "%a, %b %d, %Y",  # Mon, Jan 15, 2024
    "%A, %B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d %Y",
)
DAY_FIRST, MONTH_FIRST = "dmy", "mdy"


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def slash_order(values: Iterable[str]) -> str | None:
    """Whether a file's "a/b/yyyy" dates are day first or month first: a part above 12 says
    which. None when no date tells (or they contradict each other)."""
    orders = set()
    for value in values:
        found = _SLASHED.fullmatch(value.strip())
        if found:
            first, second = int(found.group(1)), int(found.group(2))
            if first > 12 >= second:
                orders.add(DAY_FIRST)
            elif second > 12 >= first:
                orders.add(MONTH_FIRST)
    return orders.pop() if len(orders) == 1 else None


def parse_date(raw: str, order: str | None = None) -> tuple[date | None, str | None]:
    """(date, None), or (None, what is wrong). `order` is the file's slash_order."""
    text = raw.strip()
    if not text:
        return None, _("the date is missing")
    if found := (_ISO.fullmatch(text) or _YMD.fullmatch(text)):
        year, month, day = (int(part) for part in found.groups()[:3])
        parsed = _safe_date(year, month, day)
    elif found := _DOTTED.fullmatch(text):
        parsed = _safe_date(_year(found.group(3)), int(found.group(2)), int(found.group(1)))
    elif found := _SLASHED.fullmatch(text):
        first, second, year = int(found.group(1)), int(found.group(2)), _year(found.group(3))
        if first == second or (first > 12 and order != MONTH_FIRST):
            parsed = _safe_date(year, second, first)
        elif second > 12 and order != DAY_FIRST:
            parsed = _safe_date(year, first, second)
        elif order == DAY_FIRST:
            parsed = _safe_date(year, second, first)
        elif order == MONTH_FIRST:
            parsed = _safe_date(year, first, second)
        else:
            return None, _(
                "could be day/month or month/day, and no other date in the file tells which: "
                "write dates as YYYY-MM-DD"
            )
    else:
        parsed = None
        for pattern in NAMED_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern).date()
                break
            except ValueError:
                continue
    if parsed is None:
        return None, _("not a date; write it as YYYY-MM-DD (for example 2024-01-31)")
    return parsed, None


def _cost(raw: str) -> tuple[Decimal | None, str | None]:
    text = raw.strip()
    if text in _BLANKS:
        return None, _("the cost is missing")
    number = parse_number(text)
    if number is None:
        return None, _("the cost is not a number")
    if number < 0:
        return None, _("the cost cannot be negative")
    if number >= MAX_COST:
        return None, _("the cost is too large")
    return number.quantize(CENT, rounding=ROUND_HALF_UP), None


def _count(raw: str) -> tuple[int | None, str | None]:
    text = raw.strip()
    if text in _BLANKS:
        return 0, None
    number = parse_number(text)
    if number is None or number != number.to_integral_value():
        return None, _("not a whole number")
    if number < 0:
        return None, _("cannot be negative")
    if number > MAX_COUNT:
        return None, _("too large")
    return int(number), None


def _currency(raw: str) -> tuple[str | None, str | None]:
    text = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        return None, _("not a currency code; use three letters such as USD or EUR")
    return text, None


def _text(raw: str, limit: int) -> tuple[str | None, str | None]:
    text = raw.strip()
    if len(text) > limit:
        return None, _("longer than %(n)s characters") % {"n": limit}
    return text, None


@dataclass(frozen=True)
class Plan:
    """How to read one row: (target, column name, position) and the file's constants."""

    columns: tuple[tuple[str, str, int], ...]
    channel: str  # when no column holds it
    currency: str  # when no column holds it
    date_order: str | None = None
    totals_marker: str = ""  # first cell of a totals row ("total:" for Google Ads)
    blank_campaign_is_total: bool = False  # Meta's summary row has no campaign name

    @classmethod
    def build(
        cls,
        *,
        layout: str,
        header: list[str],
        mapping: Mapping[str, str],
        channel: str,
        base_currency: str,
    ) -> Plan:
        positions = {column: index for index, column in enumerate(header)}
        # In file order, so a row's problems read left to right as the spreadsheet does.
        columns = tuple(
            sorted(
                (
                    (target, column, positions[column])
                    for target, column in mapping.items()
                    if column and column in positions
                ),
                key=lambda step: step[2],
            )
        )
        # No currency column: the cost column's own name may say it ("Amount spent (EUR)");
        # otherwise the amounts are in the reporting currency, which the pages say.
        currency = base_currency
        if not mapping.get("currency") and mapping.get("cost"):
            currency = header_currency(mapping["cost"]) or base_currency
        return cls(
            columns=columns,
            channel=channel.strip() or DEFAULT_CHANNELS.get(layout, ""),
            currency=currency,
            totals_marker="total:" if layout == GOOGLE_ADS else "",
            blank_campaign_is_total=layout == META_ADS,
        )


def _is_total(plan: Plan, cells: list[str]) -> bool:
    if plan.totals_marker:
        first = next((cell.strip() for cell in cells if cell.strip()), "")
        return first.lower().startswith(plan.totals_marker)
    if plan.blank_campaign_is_total:
        for target, _column, index in plan.columns:
            if target == "campaign":
                return index >= len(cells) or not cells[index].strip()
    return False


def parse_row(plan: Plan, number: int, cells: list[str]) -> tuple[SpendRow | None, list[RowError]]:
    """One data row as stored, or what is wrong with it, each problem named by its column."""
    values: dict[str, Any] = {
        "channel": plan.channel,
        "campaign": "",
        "currency": plan.currency,
        "clicks": 0,
        "impressions": 0,
    }
    errors: list[RowError] = []
    day_end: date | None = None
    for target, column, index in plan.columns:
        raw = cells[index] if index < len(cells) else ""
        value: Any
        message: str | None
        if target in ("date", DATE_END):
            value, message = parse_date(raw, plan.date_order)
        elif target == "cost":
            value, message = _cost(raw)
        elif target in ("clicks", "impressions"):
            value, message = _count(raw)
        elif target == "currency":
            value, message = _currency(raw)
        elif target == "channel":
            # A blank cell is the channel given for the whole file, when one was.
            value, message = _text(raw, CHANNEL_MAX)
            if message is None and not value:
                value = plan.channel
                message = None if value else _("the channel is missing")
        else:  # campaign
            value, message = _text(raw, CAMPAIGN_MAX)
        if message is not None:
            errors.append(RowError(number, column, raw.strip()[: parsing.VALUE_SHOWN], message))
        elif target == DATE_END:
            day_end = value
        else:
            values["day" if target == "date" else target] = value
    if errors:
        return None, errors
    if not values["channel"]:  # no channel column and none given for the file
        return None, [RowError(number, "", "", _("the channel is missing"))]
    if day_end is not None and day_end != values["day"]:
        return None, [
            RowError(
                number,
                "",
                f"{values['day']} / {day_end}",
                _(
                    "covers %(start)s to %(end)s, not one day: export one row per day "
                    "(in Ads Manager, Breakdown → By time → Day)"
                )
                % {"start": values["day"], "end": day_end},
            )
        ]
    return SpendRow(row=number, **values), []


def duplicate_errors(rows: Iterable[SpendRow], *, sent_as_json: bool = False) -> list[RowError]:
    """A day, channel and campaign twice is an error, not a sum: a report segmented by device
    or network has a row per segment, and adding them up silently would hide that."""
    first: dict[tuple[date, str, str], int] = {}
    errors = []
    for row in rows:
        seen = first.setdefault(row.key, row.row)
        if seen == row.row:
            continue
        names = {
            "day": row.day,
            "channel": row.channel,
            "campaign": row.campaign,
            "first": seen,
            "row": row.row,
        }
        if sent_as_json:
            message = _(
                "%(day)s, %(channel)s, campaign “%(campaign)s” appears twice in the list, rows "
                "%(first)s and %(row)s: send one row per day, channel and campaign"
            )
        else:
            message = _(
                "%(day)s, %(channel)s, campaign “%(campaign)s” appears twice in the file, rows "
                "%(first)s and %(row)s: keep one row per day, channel and campaign (a report "
                "segmented by device or network has one per segment; remove the segment)"
            )
        value = f"{row.day} / {row.channel} / {row.campaign}"
        errors.append(RowError(row.row, "", value, message % names))
    return errors


def currency_errors(
    rows: Iterable[SpendRow], known: Collection[str], *, column: str = ""
) -> list[RowError]:
    """Rows in a currency with no rate to the reporting one (`growth.currency.rates_to_base`)."""
    return [
        RowError(
            row.row,
            column,
            row.currency,
            _(
                "no exchange rate for %(currency)s: add it under Ad spend → Currency rates, or convert "
                "the costs before importing"
            )
            % {"currency": row.currency},
        )
        for row in rows
        if row.currency not in known
    ]


def parse(
    spend_file: SpendFile,
    *,
    layout: str,
    mapping: Mapping[str, str],
    channel: str,
    base_currency: str,
) -> Parsed:
    """Every row of the file checked. Currencies are left to `currency_errors`, which needs
    the rates."""
    plan = Plan.build(
        layout=layout,
        header=spend_file.header,
        mapping=mapping,
        channel=channel,
        base_currency=base_currency,
    )
    records = list(spend_file.rows())
    date_index = next((i for target, _c, i in plan.columns if target == "date"), None)
    if date_index is not None:
        dates = (cells[date_index] for _n, cells in records if date_index < len(cells))
        plan = dataclasses.replace(plan, date_order=slash_order(dates))
    parsed = Parsed()
    for number, cells in records:
        if not "".join(cells).strip() or _is_total(plan, cells):
            parsed.skipped += 1
            continue
        row, errors = parse_row(plan, number, cells)
        if row is not None:
            parsed.rows.append(row)
        parsed.errors.extend(errors)
    parsed.errors.extend(duplicate_errors(parsed.rows))
    return parsed


# --- Rows sent as JSON (the API) ------------------------------------------------------------

API_FIELDS = ("date", "channel", "campaign", "cost", "currency", "clicks", "impressions")
_API_PLAN_COLUMNS = tuple((name, name, index) for index, name in enumerate(API_FIELDS))


def parse_items(items: list[Any], *, base_currency: str) -> Parsed:
    """Rows sent as JSON objects, checked as strictly as a file's. `row` is the position in the
    list (the first is 1) and the column of an error is the field name. A row without a
    currency is in the reporting currency; unknown fields are refused, so a misspelt one is
    not silently dropped."""
    plan = Plan(columns=_API_PLAN_COLUMNS, channel="", currency=base_currency)
    parsed = Parsed()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            message = _("each row must be a JSON object with the fields %(fields)s")
            parsed.errors.append(
                RowError(number, "", str(item)[:100], message % {"fields": ", ".join(API_FIELDS)})
            )
            continue
        unknown = sorted(str(name) for name in set(item) - set(API_FIELDS))
        if unknown:
            message = _("unknown field; the fields are %(fields)s")
            parsed.errors.extend(
                RowError(number, name[:100], "", message % {"fields": ", ".join(API_FIELDS)})
                for name in unknown
            )
            continue
        # JSON true/false are not numbers, whatever str() makes of them.
        cells = [
            json.dumps(item[name])
            if isinstance(item.get(name), bool | list | dict)
            else _cell(item.get(name))
            for name in API_FIELDS
        ]
        if not cells[API_FIELDS.index("currency")]:
            cells[API_FIELDS.index("currency")] = base_currency
        row, errors = parse_row(plan, number, cells)
        if row is not None:
            parsed.rows.append(row)
        parsed.errors.extend(errors)
    parsed.errors.extend(duplicate_errors(parsed.rows, sent_as_json=True))
    return parsed


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def errors_sorted(errors: Iterable[RowError]) -> list[RowError]:
    """File order; errors about the whole file first."""
    return sorted(errors, key=lambda error: error.row or 0)


# --- Preview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    row: int
    cells: list[str]  # one per PREVIEW_TARGETS: as it will be stored, or "" when the row is bad
    problems: list[str]
    skipped: bool = False


PREVIEW_TARGETS = ("date", "channel", "campaign", "cost", "currency", "clicks", "impressions")


def preview(
    *,
    header: list[str],
    sample: list[dict[str, Any]],
    layout: str,
    mapping: Mapping[str, str],
    channel: str,
    base_currency: str,
) -> list[PreviewRow]:
    """The sample rows as this mapping would import them, each with its problems (duplicates
    and currencies are checked on the whole file only)."""
    if any(target not in mapping or mapping[target] not in header for target in REQUIRED):
        return []
    plan = Plan.build(
        layout=layout, header=header, mapping=mapping, channel=channel, base_currency=base_currency
    )
    plan = dataclasses.replace(plan, date_order=slash_order(_column_values(plan, "date", sample)))
    shown = []
    for item in sample:
        cells = item["cells"]
        if _is_total(plan, cells):
            shown.append(PreviewRow(item["row"], [], [], skipped=True))
            continue
        row, errors = parse_row(plan, item["row"], cells)
        values = [_shown(getattr(row, _attribute(t))) if row else "" for t in PREVIEW_TARGETS]
        problems = [f"{e.column}: {e.message}" if e.column else e.message for e in errors]
        shown.append(PreviewRow(item["row"], values, problems))
    return shown


def _column_values(plan: Plan, target: str, sample: list[dict[str, Any]]) -> list[str]:
    index = next((i for t, _c, i in plan.columns if t == target), None)
    if index is None:
        return []
    return [s["cells"][index] for s in sample if index < len(s["cells"])]


def _attribute(target: str) -> str:
    return "day" if target == "date" else target


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
