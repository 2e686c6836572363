"""Reading a contacts CSV: encoding, delimiter, header, the mapping of columns to contact
fields, and the validation of one row. No database here. (The file checks serve orders CSVs
too; what is particular to orders is in `order_rows`.)"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.models import Contact, Identity, LifecycleStage
from leads.services.identity import normalise

# Refused above this, before anything is read or written. A module constant so tests can
# lower it.
MAX_FILE_BYTES = settings.CSV_IMPORT_MAX_MB * 1024 * 1024
MAX_COLUMNS = 200
SAMPLE_ROWS = 10  # rows kept at upload for the mapping page's preview
DELIMITERS = ",;\t"
SNIFF_BYTES = 64 * 1024
MIN_PHONE_DIGITS = 6
VALUE_SHOWN = 500  # characters of a bad value kept in its row error

# Contact fields a column can fill, in the order the mapping select lists them.
FIELDS = ("first_name", "last_name", "email", "phone", "country", "time_zone", "locale", "company")
CONSENT_EMAIL = "consent_email"
# Moves the contact to the stage the file names (recorded as a stage change caused by the
# import). Never guessed: a column of that name is usually an old export of Growth's own.
LIFECYCLE_STAGE = "lifecycle_stage"
PROPERTY = "property:"  # "property:<column name>" keeps the value under that key
IGNORE = "ignore"
TARGET_LABELS: dict[str, Any] = {
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "email": gettext_lazy("E-mail"),
    "phone": gettext_lazy("Phone"),
    "country": gettext_lazy("Country (2 letters)"),
    "time_zone": gettext_lazy("Time zone"),
    "locale": gettext_lazy("Locale"),
    "company": gettext_lazy("Company"),
    CONSENT_EMAIL: gettext_lazy("E-mail consent (yes/no)"),
    LIFECYCLE_STAGE: gettext_lazy("Lifecycle stage (moves the contact there)"),
}
CONSENT_VALUES = {
    "yes": "granted",
    "true": "granted",
    "1": "granted",
    "no": "denied",
    "false": "denied",
    "0": "denied",
}

# Header names, squeezed to lower-case letters and digits, that surely mean a target.
EXACT_NAMES: dict[str, set[str]] = {
    "email": {"email", "emailaddress", "mail", "emailid", "courriel", "primaryemail"},
    "first_name": {"firstname", "first", "givenname", "forename", "fname", "vorname"},
    "last_name": {"lastname", "last", "surname", "familyname", "lname", "nachname"},
    "phone": {
        "phone",
        "phonenumber",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cell",
        "cellphone",
        "telephone",
        "tel",
        "sms",
    },
    "country": {"country", "countrycode", "countryiso", "countryiso2"},
    "time_zone": {"timezone", "tz", "zone"},
    "locale": {"locale", "language", "lang", "languagecode"},
    "company": {"company", "companyname", "organisation", "organization", "org", "account"},
    CONSENT_EMAIL: {
        "emailconsent",
        "consentemail",
        "consent",
        "newsletter",
        "optin",
        "emailoptin",
        "subscribed",
        "acceptsemailmarketing",
        "acceptsmarketing",
        "marketingconsent",
    },
}
# Columns of Growth's own contact export that a re-import must not turn into properties.
EXPORT_ONLY = {"id", "lifecycle_stage", "score", "source_channel", "created_at", "last_seen_at"}
EXPORT_ONLY_KEYS = {re.sub(r"[^a-z0-9]", "", name) for name in EXPORT_ONLY}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _loose_target(key: str) -> str | None:
    """A second, looser guess for names such as "Work Email" or "Default Address Phone"."""
    other_channel = any(word in key for word in ("sms", "text", "phone", "whatsapp", "push"))
    if not other_channel and any(
        word in key for word in ("consent", "optin", "newsletter", "subscri", "marketing")
    ):
        return CONSENT_EMAIL
    rules = (
        ("email", ("mail",)),
        ("phone", ("phone", "mobile", "cell")),
        ("first_name", ("firstname", "givenname")),
        ("last_name", ("lastname", "surname", "familyname")),
        ("country", ("country",)),
        ("time_zone", ("timezone",)),
        ("company", ("company", "organi", "employer")),
        ("locale", ("locale", "language")),
    )
    for target, words in rules:
        if any(word in key for word in words):
            return target
    return None


ORDERS = "orders"  # ContactImport.Kind.ORDERS: order_rows holds what is particular to them


def guess_mapping(header: list[str], kind: str = "contacts") -> dict[str, str]:
    """A target for every column: exact names first, looser ones for what is left, each
    contact field used once; everything else is kept as a property."""
    if kind == ORDERS:
        from leads.csv_import import order_rows  # it builds on this module

        return order_rows.guess_mapping(header)
    guessed: dict[str, str] = {}
    used: set[str] = set()
    for name in header:
        key = _key(name)
        if name in EXPORT_ONLY or key in EXPORT_ONLY_KEYS:
            guessed[name] = IGNORE
            continue
        for target, names in EXACT_NAMES.items():
            if key in names and target not in used:
                guessed[name] = target
                used.add(target)
                break
    for name in header:
        if name in guessed:
            continue
        loose = _loose_target(_key(name))
        if loose and loose not in used:
            guessed[name] = loose
            used.add(loose)
        else:
            guessed[name] = PROPERTY + name
    return {name: guessed[name] for name in header}


def target_choices(column: str, kind: str = "contacts") -> list[tuple[str, str]]:
    if kind == ORDERS:
        from leads.csv_import import order_rows

        return order_rows.target_choices()
    return [
        *((target, str(label)) for target, label in TARGET_LABELS.items()),
        (PROPERTY + column, _("Property “%(name)s”") % {"name": column}),
        (IGNORE, _("Ignore this column")),
    ]


def mapped_targets(
    header: list[str],
    mapping: dict[str, str],
    labels: Mapping[str, Any],
    *,
    also_valid: Callable[[str, str], bool] = lambda column, target: False,
) -> tuple[list[str], dict[str, list[str]]]:
    """(errors, target → columns): unknown targets and targets chosen twice, for either kind."""
    errors = []
    chosen: dict[str, list[str]] = {}
    for column in header:
        target = mapping.get(column, IGNORE)
        if not (target in labels or target == IGNORE or also_valid(column, target)):
            errors.append(
                _("Column “%(column)s”: choose a target from the list.") % {"column": column}
            )
        elif target in labels:
            chosen.setdefault(target, []).append(column)
    for target, columns in chosen.items():
        if len(columns) > 1:
            errors.append(
                _("%(target)s is chosen for %(columns)s: choose it for one column only.")
                % {"target": labels[target], "columns": ", ".join(columns)}
            )
    return errors, chosen


def mapping_errors(header: list[str], mapping: dict[str, str], kind: str = "contacts") -> list[str]:
    """What is wrong with a mapping, in words the person can act on; empty when it is fine."""
    if kind == ORDERS:
        from leads.csv_import import order_rows

        return order_rows.mapping_errors(header, mapping)
    errors, chosen = mapped_targets(
        header,
        mapping,
        TARGET_LABELS,
        also_valid=lambda column, target: target == PROPERTY + column,
    )
    if "email" not in chosen and "phone" not in chosen:
        errors.append(
            _(
                "No e-mail or phone column mapped: contacts are matched on those. "
                "Map at least one column to E-mail or Phone."
            )
        )
    return errors


# --- The file ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvFile:
    encoding: str
    delimiter: str
    header: list[str]
    sample: list[dict[str, Any]]  # {"row": number as a spreadsheet shows it, "cells": [...]}
    rows_total: int


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise ValidationError(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
            % {"size": megabytes(size), "limit": megabytes(MAX_FILE_BYTES)},
            code="too_large",
        )


def _sniff_delimiter(data: bytes, encoding: str) -> str:
    text = data[:SNIFF_BYTES].decode(encoding, errors="ignore")
    if len(data) > SNIFF_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]  # whole lines only
    first = text.splitlines()[0] if text else ""
    # Columns the header line would have with each delimiter.
    widths = {d: len(next(csv.reader([first], delimiter=d), [])) for d in DELIMITERS}
    widest = max(DELIMITERS, key=lambda d: widths[d])
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""  # one column, or too few lines to be sure: the header line decides
    if sniffed and widths[sniffed] > 1:
        return sniffed
    return widest if widths[widest] > 1 else ","


def _unique_header(cells: list[str]) -> list[str]:
    header: list[str] = []
    for number, cell in enumerate(cells, start=1):
        name = cell.strip() or _("Column %(n)s") % {"n": number}
        base, n = name, 1
        while name in header:
            n += 1
            name = f"{base} ({n})"
        header.append(name)
    return header


def records(data: bytes, encoding: str, delimiter: str) -> Iterator[list[str]]:
    """Every record of the file, the header first, decoded as it is read."""
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    return csv.reader(text, delimiter=delimiter)


def read_file(data: bytes) -> CsvFile:
    """Check a whole upload and describe it; ValidationError says what is wrong and what to do."""
    check_size(len(data))
    if not data.strip():
        raise ValidationError(_("The file is empty."), code="empty")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(
            _(
                "This is a spreadsheet workbook, not a CSV file. In your spreadsheet choose "
                "File → Save as → “CSV UTF-8” and upload that."
            ),
            code="not_csv",
        )
    if b"\x00" in data:
        raise ValidationError(
            _("This is not a CSV text file. Upload a CSV file saved as UTF-8."), code="not_csv"
        )
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    delimiter = _sniff_delimiter(data, encoding)
    reader = records(data, encoding, delimiter)
    sample: list[dict[str, Any]] = []
    total = 0
    try:
        header_cells = next(reader, [])
        for cells in reader:
            total += 1
            if len(sample) < SAMPLE_ROWS and any(cell.strip() for cell in cells):
                sample.append({"row": total + 1, "cells": cells})
    except UnicodeDecodeError as error:
        raise ValidationError(
            _(
                "The file is not UTF-8 text. Save it as “CSV UTF-8” in your spreadsheet and "
                "upload it again."
            ),
            code="encoding",
        ) from error
    except csv.Error as error:
        raise ValidationError(
            _("The file could not be read as CSV near row %(row)s: %(error)s.")
            % {"row": total + 2, "error": error},
            code="not_csv",
        ) from error
    if not any(cell.strip() for cell in header_cells):
        raise ValidationError(
            _("The first row must name the columns (for example Email, First name, Phone)."),
            code="no_header",
        )
    if len(header_cells) > MAX_COLUMNS:
        raise ValidationError(
            _("The file has %(n)s columns; at most %(max)s can be imported.")
            % {"n": len(header_cells), "max": MAX_COLUMNS},
            code="too_wide",
        )
    if not sample:
        raise ValidationError(
            _("The file has a header row but no contacts below it."), code="no_rows"
        )
    return CsvFile(encoding, delimiter, _unique_header(header_cells), sample, total)


# --- One row ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    column: str  # "" when it is about the whole row
    value: str
    message: str


@dataclass
class Row:
    """One valid row as the load wants it: contact fields, consent, properties."""

    fields: dict[str, str] = field(default_factory=dict)
    consent: str | None = None  # "granted" / "denied"
    consent_raw: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    stage: str | None = None  # a LifecycleStage value, when the row names one


# How parse_row treats a column, decided once per plan rather than once per cell.
_TEXT, _EMAIL, _PHONE, _COUNTRY, _TIME_ZONE, _CONSENT, _PROPERTY, _STAGE = range(8)
_KINDS = {"email": _EMAIL, "phone": _PHONE, "country": _COUNTRY, "time_zone": _TIME_ZONE}


@dataclass(frozen=True)
class Plan:
    """The mapping compiled against the header: (position, column name, target)."""

    columns: tuple[tuple[int, str, str], ...]

    @classmethod
    def build(cls, header: list[str], mapping: dict[str, str]) -> Plan:
        return cls(
            tuple(
                (i, name, mapping.get(name, IGNORE))
                for i, name in enumerate(header)
                if mapping.get(name, IGNORE) != IGNORE
            )
        )

    @property
    def has_stage(self) -> bool:
        """Whether a column moves contacts to a lifecycle stage."""
        return any(target == LIFECYCLE_STAGE for _index, _column, target in self.columns)

    @cached_property
    def steps(self) -> tuple[tuple[int, str, int, str, int], ...]:
        """(position, column, kind, field or property key, max length) for parse_row."""
        limits = _max_lengths()
        steps = []
        for index, column, target in self.columns:
            if target.startswith(PROPERTY):
                steps.append((index, column, _PROPERTY, target.removeprefix(PROPERTY), 0))
            elif target == CONSENT_EMAIL:
                steps.append((index, column, _CONSENT, target, 0))
            elif target == LIFECYCLE_STAGE:
                steps.append((index, column, _STAGE, target, 0))
            else:
                steps.append((index, column, _KINDS.get(target, _TEXT), target, limits[target]))
        return tuple(steps)


@cache
def _max_lengths() -> dict[str, int]:
    return {
        name: int(getattr(Contact._meta.get_field(name), "max_length", 0) or 0) for name in FIELDS
    }


def _stage_key(value: str) -> str:
    return re.sub(r"[\s_-]+", "_", value.strip().lower())


@cache
def _stage_names(language: str | None) -> dict[str, str]:
    """A stage as a file may write it → its value: the value itself ("repeat_customer"), its
    English label ("Repeat customer") and its label in the language of the import."""
    names: dict[str, str] = {}
    for stage in LifecycleStage:
        names[_stage_key(stage.value)] = stage.value
        with translation.override("en"):
            names[_stage_key(str(stage.label))] = stage.value
        names.setdefault(_stage_key(str(stage.label)), stage.value)
    return names


def stage_value(raw: str) -> str | None:
    """The lifecycle stage a cell names, or None when it names none."""
    return _stage_names(translation.get_language()).get(_stage_key(raw))


@cache
def _time_zones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


_email_validator = EmailValidator()
# The validator's own expressions, compiled once: Django's lazy regex objects cost more per
# call than the match itself.
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
_TWO_LETTERS = re.compile(r"[A-Za-z]{2}")
_NOT_DIGITS = re.compile(r"\D")


def _phone(value: str) -> str:
    """normalise(PHONE, value) of a stripped value, with the expression compiled once."""
    return ("+" if value.startswith("+") else "") + _NOT_DIGITS.sub("", value)


def _email_valid(email: str) -> bool:
    """EmailValidator's answer. The common case, a user part and a domain name that its own
    expressions accept, is checked here; anything else is left to the validator itself."""
    user, at, domain = email.rpartition("@")
    if at and len(email) <= 320 and _EMAIL_USER.match(user) and _EMAIL_DOMAIN.match(domain):
        return True
    try:
        _email_validator(email)
    except ValidationError:
        return False
    return True


def _field_value(target: str, value: str) -> tuple[str, str | None]:
    """(normalised value, problem message or None)."""
    if target == "email":
        email = normalise(Identity.Kind.EMAIL, value)
        if not _email_valid(email):
            return email, _("not a valid e-mail address")
        return email, None
    if target == "phone":
        phone = _phone(value.strip())
        if len(phone.lstrip("+")) < MIN_PHONE_DIGITS:  # normalised: "+" and digits only
            return phone, _("a phone number needs at least %(n)s digits") % {"n": MIN_PHONE_DIGITS}
        return phone, None
    if target == "country":
        if not _TWO_LETTERS.fullmatch(value):
            return value, _("a country is two letters (ISO 3166), such as US or DE")
        return value.upper(), None
    if target == "time_zone":
        zone = _time_zones().get(value.lower())
        if zone is None:
            return value, _("not a known time zone; use an IANA name such as Europe/Berlin")
        return zone, None
    return value, None


def parse_row(plan: Plan, cells: list[str]) -> tuple[Row | None, list[Problem]]:
    """A row as the load wants it, or what is wrong with it. (None, []) for a blank row.

    Runs once per row of a file of up to millions: the common cases (plain text, a valid
    e-mail) take no call beyond what they need; the rest goes through `_field_value`.
    """
    if not "".join(cells).strip():
        return None, []
    fields: dict[str, str] = {}
    properties: dict[str, str] = {}
    consent: str | None = None
    consent_raw = ""
    stage: str | None = None
    problems: list[Problem] = []
    width = len(cells)
    for index, column, kind, key, limit in plan.steps:
        if index >= width:
            continue
        raw = cells[index].strip()
        if not raw:
            continue
        if kind == _PROPERTY:
            properties[key] = raw
            continue
        if kind == _CONSENT:
            consent, consent_raw = CONSENT_VALUES.get(raw.lower()), raw
            if consent is None:
                problems.append(
                    Problem(column, raw, _("consent must be yes, no, true, false, 1 or 0"))
                )
            continue
        if kind == _STAGE:
            stage = stage_value(raw)
            if stage is None:
                problems.append(
                    Problem(
                        column,
                        raw[:VALUE_SHOWN],
                        _("not a lifecycle stage; use one of %(stages)s")
                        % {"stages": ", ".join(LifecycleStage.values)},
                    )
                )
            continue
        message: str | None = None
        if kind == _TEXT:
            value = raw
        elif kind == _EMAIL:
            value = raw.lower()  # normalise(EMAIL, …) of a stripped value
            if not _email_valid(value):
                message = _("not a valid e-mail address")
        else:
            value, message = _field_value(key, raw)
        if message is None and len(value) > limit:
            message = _("longer than %(n)s characters") % {"n": limit}
        if message is None:
            fields[key] = value
        else:
            problems.append(Problem(column, raw[:VALUE_SHOWN], message))
    if problems:
        return None, problems
    if not fields.get("email") and not fields.get("phone"):
        return None, [
            Problem("", "", _("needs an e-mail address or a phone number to match the contact"))
        ]
    return Row(fields, consent, consent_raw, properties, stage), []
