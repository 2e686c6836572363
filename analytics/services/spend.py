"""Writes of ad spend: file imports (upload, then run), rows sent through the API, and other
acquisition costs.

Spend is imported whole or not at all: one bad row and nothing is written, so a figure on a
dashboard never rests on half a file. Rows are upserted on (day, channel, campaign), so
importing the same file again, or retrying an API call, has exactly one effect.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import spend_csv
from analytics.cache import data_changed
from analytics.models import AdSpend, OtherCost, SpendImport
from growth.currency import base_currency, rates_to_base
from leads.csv_import import parsing

Status = SpendImport.Status
CENT = Decimal("0.01")
UPSERT_FIELDS = [
    "currency",
    "cost",
    "rate_to_base",
    "cost_base",
    "clicks",
    "impressions",
    "spend_import",
    "updated_at",
]


class SpendRowsInvalid(ValidationError):
    """Rows refused, each problem with its row and column (field, for the API)."""

    def __init__(self, errors: list[spend_csv.RowError]):
        super().__init__([error.message for error in errors[:20]], code="rows")
        self.row_errors = errors


def converted(cost: Decimal, rate: Decimal) -> Decimal:
    """Cost in the reporting currency, to the cent (half up, as accountants round)."""
    return (cost * rate).quantize(CENT, rounding=ROUND_HALF_UP)


# --- File imports -----------------------------------------------------------------------------


def spend_import_upload(
    *, file: UploadedFile, layout: str, channel: str = "", user: Any
) -> SpendImport:
    """Keep an uploaded file, raw, then describe it: header, sample rows, the layout's mapping.

    The file is stored before it is read, so nothing is lost if reading it fails. A file that
    cannot be read comes back FAILED, the reason as its one error; only a file over the size
    limit is refused outright, before a byte of it is read.
    """
    if layout not in spend_csv.LAYOUTS:
        raise ValidationError(_("Choose the layout of the file."), code="layout")
    channel = channel.strip()
    if len(channel) > spend_csv.CHANNEL_MAX:
        raise ValidationError(
            _("The channel is longer than %(n)s characters.") % {"n": spend_csv.CHANNEL_MAX},
            code="channel",
        )
    parsing.check_size(file.size or 0)
    data = b"".join(file.chunks())
    spend_import = SpendImport.objects.create(
        layout=layout,
        file=data,
        filename=(file.name or "spend.csv")[:255],
        channel=channel or spend_csv.DEFAULT_CHANNELS.get(layout, ""),
        uploaded_by=user,
    )
    try:
        spend_file = spend_csv.read(data, layout)
    except ValidationError as error:
        _fail(spend_import, [spend_csv.RowError(None, "", "", " ".join(error.messages))])
        return spend_import
    spend_import.header = spend_file.header
    spend_import.sample = spend_file.sample
    spend_import.rows_total = spend_file.rows_total
    spend_import.mapping = spend_csv.layout_mapping(layout, spend_file.header)
    spend_import.save(update_fields=["header", "sample", "rows_total", "mapping"])
    return spend_import


def _fail(spend_import: SpendImport, errors: list[spend_csv.RowError]) -> None:
    kept = spend_csv.errors_sorted(errors)
    if len(kept) > spend_csv.MAX_ERRORS:
        more = len(kept) - spend_csv.MAX_ERRORS
        message = _("… and %(n)s more problems. Fix these, then upload the file again.")
        kept = [
            *kept[: spend_csv.MAX_ERRORS],
            spend_csv.RowError(None, "", "", message % {"n": more}),
        ]
    spend_import.status = Status.FAILED
    spend_import.errors = [error.as_dict() for error in kept]
    spend_import.rows_imported = 0
    spend_import.finished_at = timezone.now()
    spend_import.save(update_fields=["status", "errors", "rows_imported", "finished_at"])


def spend_import_run(
    *, spend_import: SpendImport, mapping: dict[str, str], channel: str | None = None
) -> SpendImport:
    """Check every row and import them all, or none and keep the report.

    A wrong mapping raises ValidationError (the mapping page shows it) and changes nothing.
    Row problems do not raise: the import comes back FAILED with its errors, nothing written.
    A failed import may be run again, e.g. once the missing exchange rate is added.
    """
    with transaction.atomic():
        locked = SpendImport.objects.select_for_update().get(pk=spend_import.pk)
        if locked.status == Status.DONE:
            raise ValidationError(_("This file has already been imported."), code="done")
        if channel is not None:
            locked.channel = channel.strip()
        mapping = {target: column for target, column in mapping.items() if column}
        problems = spend_csv.mapping_errors(locked.header, mapping, locked.channel)
        if problems:
            raise ValidationError(problems, code="mapping")
        locked.mapping = mapping
        locked.save(update_fields=["mapping", "channel"])
        try:
            spend_file = spend_csv.read(bytes(locked.file), locked.layout)
        except ValidationError as error:
            _fail(locked, [spend_csv.RowError(None, "", "", " ".join(error.messages))])
            return locked
        parsed = spend_csv.parse(
            spend_file,
            layout=locked.layout,
            mapping=mapping,
            channel=locked.channel,
            base_currency=base_currency(),
        )
        rates = rates_to_base({row.currency for row in parsed.rows})
        currency_column = mapping.get("currency", mapping.get("cost", ""))
        errors = parsed.errors + spend_csv.currency_errors(
            parsed.rows, rates, column=currency_column
        )
        if errors:
            _fail(locked, errors)
            return locked
        _upsert(parsed.rows, rates, spend_import=locked)
        locked.status = Status.DONE
        locked.errors = []
        locked.rows_total = spend_file.rows_total
        locked.rows_imported = len(parsed.rows)
        locked.finished_at = timezone.now()
        locked.save(
            update_fields=["status", "errors", "rows_total", "rows_imported", "finished_at"]
        )
    return locked


def _upsert(
    rows: Iterable[spend_csv.SpendRow],
    rates: dict[str, Decimal],
    *,
    spend_import: SpendImport | None,
) -> int:
    """One INSERT … ON CONFLICT for all rows: the file's figure replaces the day's."""
    objects = [
        AdSpend(
            day=row.day,
            channel=row.channel,
            campaign=row.campaign,
            currency=row.currency,
            cost=row.cost,
            rate_to_base=rates[row.currency],
            cost_base=converted(row.cost, rates[row.currency]),
            clicks=row.clicks,
            impressions=row.impressions,
            spend_import=spend_import,
        )
        for row in rows
    ]
    if objects:
        AdSpend.objects.bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=["day", "channel", "campaign"],
            update_fields=UPSERT_FIELDS,
        )
        data_changed()
    return len(objects)


# --- Rows sent through the API ----------------------------------------------------------------


@transaction.atomic
def spend_rows_save(*, rows: list[Any], user: Any) -> dict[str, int]:
    """Save rows sent as JSON, all or none: SpendRowsInvalid lists every problem.

    Returns {"rows": n, "created": …, "updated": …}; updated rows replace a figure that was
    there for the same day, channel and campaign.
    """
    parsed = spend_csv.parse_items(rows, base_currency=base_currency())
    rates = rates_to_base({row.currency for row in parsed.rows})
    errors = parsed.errors + spend_csv.currency_errors(parsed.rows, rates, column="currency")
    if errors:
        raise SpendRowsInvalid(spend_csv.errors_sorted(errors))
    existing = _existing_keys(parsed.rows)
    _upsert(parsed.rows, rates, spend_import=None)
    updated = sum(1 for row in parsed.rows if row.key in existing)
    return {"rows": len(parsed.rows), "created": len(parsed.rows) - updated, "updated": updated}


def _existing_keys(rows: list[spend_csv.SpendRow]) -> set[tuple[date, str, str]]:
    """Keys of the rows already stored, in one query (a superset is read, then narrowed)."""
    if not rows:
        return set()
    wanted = {row.key for row in rows}
    stored = AdSpend.objects.filter(
        day__in={row.day for row in rows},
        channel__in={row.channel for row in rows},
        campaign__in={row.campaign for row in rows},
    ).values_list("day", "channel", "campaign")
    return {key for key in stored if key in wanted}


# --- Other acquisition costs ------------------------------------------------------------------


@transaction.atomic
def other_cost_save(
    *,
    kind: str,
    starts_on: date,
    ends_on: date,
    amount: Decimal,
    currency: str,
    channel: str = "",
    description: str = "",
) -> OtherCost:
    """Record a cost outside the ad platforms for a period, converted to the reporting currency
    at today's rate. ValidationError names the field that is wrong."""
    currency = currency.strip().upper()
    errors: dict[str, list[str]] = {}
    if ends_on < starts_on:
        errors["ends_on"] = [_("The period ends before it starts.")]
    if amount < 0:
        errors["amount"] = [_("The amount cannot be negative.")]
    rate = rates_to_base([currency]).get(currency) if currency else None
    if rate is None:
        errors["currency"] = [
            _("No exchange rate for %(currency)s: add it under currency rates first.")
            % {"currency": currency}
            if currency
            else _("Choose the currency of the amount.")
        ]
    if errors:
        raise ValidationError(errors)
    assert rate is not None  # for the type checker: a missing rate raised above
    cost = OtherCost(
        kind=kind,
        description=description.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        channel=channel.strip(),
        currency=currency,
        amount=amount.quantize(CENT, rounding=ROUND_HALF_UP),
        amount_base=converted(amount, rate),
    )
    cost.full_clean()
    cost.save()
    data_changed()
    return cost


@transaction.atomic
def other_cost_delete(*, other_cost: OtherCost) -> None:
    other_cost.delete()
    data_changed()
