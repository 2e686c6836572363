"""Discount codes: issued once per key to a contact, generated from a campaign's pattern
or taken from its uploaded pool, and marked redeemed when an order carries the code.

Issuing is idempotent per key (a retried journey step gets the code it got the first
time). A pool hands out each code once even to concurrent workers: the next free code is
claimed with FOR UPDATE SKIP LOCKED, so two workers never wait on or take the same row."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.models import DiscountCampaign, DiscountCode
from leads.models import Contact
from leads.services.reactions import after_batch

# No 0/O, 1/I/L: a code read off a phone or printed on a card is typed right.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PLACEHOLDER = "{code}"
CODE_CHARS = re.compile(r"^[A-Z0-9_-]+$")
CODE_MIN, CODE_MAX = 3, 100
RANDOM_MIN, RANDOM_MAX = 4, 32
GENERATE_TRIES = 8
IMPORT_CHUNK = 5000
# First cells that name a column rather than hold a code: a CSV header line is skipped.
HEADER_NAMES = re.compile(r"^(discount|coupon|promo|voucher)?[ _-]?codes?$|^coupons?$|^vouchers?$")
REJECTS_SHOWN = 200
REDEEMED_ORDER_STATUSES_EXCLUDED = ("cancelled",)


class CodePoolEmpty(ValidationError):
    """The pool of a campaign has no free code left: upload more."""


def code_normalise(raw: str) -> str:
    return raw.strip().upper()


def code_problem(code: str) -> str | None:
    """Why `code` (normalised) cannot be a discount code, or None."""
    if not CODE_MIN <= len(code) <= CODE_MAX:
        return _("A code has %(low)s to %(high)s characters.") % {"low": CODE_MIN, "high": CODE_MAX}
    if not CODE_CHARS.match(code):
        return _("A code has only letters A-Z, digits, - and _.")
    return None


def pattern_problem(pattern: str, length: int) -> str | None:
    """Why a campaign's pattern cannot generate codes, or None."""
    if pattern.count(PLACEHOLDER) != 1:
        return _("The pattern needs {code} exactly once, e.g. WELCOME-{code}.")
    if not RANDOM_MIN <= length <= RANDOM_MAX:
        return _("Use %(low)s to %(high)s random characters.") % {
            "low": RANDOM_MIN,
            "high": RANDOM_MAX,
        }
    sample = pattern.upper().replace(PLACEHOLDER.upper(), "A" * length)
    return code_problem(sample)


def code_generate(pattern: str, length: int) -> str:
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return pattern.replace(PLACEHOLDER, random_part).upper()


# --- Campaigns ------------------------------------------------------------------------------

EDITABLE = ("name", "kind", "pattern", "code_length", "value", "valid_days")


def _campaign_check(campaign: DiscountCampaign) -> None:
    campaign.full_clean()
    if campaign.kind == DiscountCampaign.Kind.PATTERN:
        problem = pattern_problem(campaign.pattern, campaign.code_length)
        if problem:
            raise ValidationError({"pattern": problem})
    elif campaign.pattern:
        raise ValidationError({"pattern": _("A pool campaign has no pattern: leave it empty.")})


def campaign_create(**fields: Any) -> DiscountCampaign:
    campaign = DiscountCampaign(**{name: fields[name] for name in EDITABLE if name in fields})
    campaign.pattern = campaign.pattern.strip()
    _campaign_check(campaign)
    campaign.save()
    return campaign


def campaign_update(*, campaign: DiscountCampaign, **fields: Any) -> DiscountCampaign:
    with transaction.atomic():
        row = DiscountCampaign.objects.select_for_update().get(pk=campaign.pk)
        if "kind" in fields and fields["kind"] != row.kind and row.codes.exists():
            raise ValidationError(
                {"kind": _("This campaign has codes: its kind cannot change any more.")}
            )
        for name in EDITABLE:
            if name in fields:
                setattr(row, name, fields[name])
        row.pattern = row.pattern.strip()
        _campaign_check(row)
        row.save()
    return row


# --- Issuing --------------------------------------------------------------------------------


def code_issue(*, campaign: DiscountCampaign, contact: Contact, key: str) -> DiscountCode:
    """The code for `key`, given to `contact`: the first call issues it, every later call
    with the same key returns that same code. A pool that ran out raises CodePoolEmpty."""
    key = key.strip()
    if not key:
        raise ValidationError(_("Issuing a code needs a key."))
    existing = DiscountCode.objects.filter(issue_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            if campaign.kind == DiscountCampaign.Kind.POOL:
                return _issue_from_pool(campaign, contact, key)
            return _issue_from_pattern(campaign, contact, key)
    except IntegrityError:
        # A concurrent issue for the same key committed first: that one is the code.
        existing = DiscountCode.objects.filter(issue_key=key).first()
        if existing is None:
            raise
        return existing


_CLAIM_SQL = """
    UPDATE automations_discountcode c
    SET contact_id = %(contact)s, issue_key = %(key)s, issued_at = %(now)s
    WHERE c.id = (
        SELECT id FROM automations_discountcode
        WHERE campaign_id = %(campaign)s AND issue_key IS NULL
        ORDER BY id
        LIMIT 1
        FOR UPDATE {skip})
    RETURNING c.id
"""


def _issue_from_pool(campaign: DiscountCampaign, contact: Contact, key: str) -> DiscountCode:
    params: dict[str, Any] = {
        "contact": contact.pk,
        "key": key,
        "now": timezone.now(),
        "campaign": campaign.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(skip="SKIP LOCKED"), params)
        row = cursor.fetchone()
        if row is None:
            # Every free code may be locked by a claim still in flight, and some of those
            # roll back (a doubled key): wait for them before calling the pool empty.
            cursor.execute(_CLAIM_SQL.format(skip=""), params)
            row = cursor.fetchone()
    if row is None:
        raise CodePoolEmpty(
            _(
                'The pool of "%(campaign)s" has no free code left: upload more codes on the '
                "discount codes page."
            )
            % {"campaign": campaign.name},
            code="pool_empty",
        )
    return DiscountCode.objects.get(pk=row[0])


def _issue_from_pattern(campaign: DiscountCampaign, contact: Contact, key: str) -> DiscountCode:
    now = timezone.now()
    for _attempt in range(GENERATE_TRIES):
        code = code_generate(campaign.pattern, campaign.code_length)
        with connection.cursor() as cursor:
            # A random code that exists already (any campaign) is skipped, not an error;
            # a row with the same issue_key raises IntegrityError (handled by the caller).
            cursor.execute(
                """
                INSERT INTO automations_discountcode
                    (campaign_id, code, contact_id, issue_key, issued_at, created_at)
                VALUES (%(campaign)s, %(code)s, %(contact)s, %(key)s, %(now)s, %(now)s)
                ON CONFLICT (code) DO NOTHING
                RETURNING id
                """,
                {
                    "campaign": campaign.pk,
                    "code": code,
                    "contact": contact.pk,
                    "key": key,
                    "now": now,
                },
            )
            row = cursor.fetchone()
        if row is not None:
            return DiscountCode.objects.get(pk=row[0])
    raise ValidationError(
        _(
            'No unused code found for "%(campaign)s" after %(n)s tries: give the pattern more '
            "random characters."
        )
        % {"campaign": campaign.name, "n": GENERATE_TRIES}
    )


# --- Pool upload ----------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0  # repeated within the upload
    existing: int = 0  # already known (this or another campaign)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, value, why
    rejected_total: int = 0
    header: str = ""  # the first line, when it was a header and skipped


def _first_cell(line: str) -> str:
    """The code of a CSV or plain-text line: its first cell, quotes taken off."""
    cell = re.split(r"[,;\t]", line, maxsplit=1)[0]
    return cell.strip().strip('"').strip("'")


def codes_import(*, campaign: DiscountCampaign, lines: Iterable[str]) -> ImportReport:
    """Add pool codes, one per line (a CSV's first column). Codes are upper-cased; repeats
    and codes already known are counted and skipped; invalid ones are reported with their
    line number and reason. A first line that names the column ("code", "Coupon code") is a
    CSV header and skipped."""
    if campaign.kind != DiscountCampaign.Kind.POOL:
        raise ValidationError(_("Only a pool campaign takes uploaded codes."))
    report = ImportReport()
    seen: set[str] = set()
    valid: list[str] = []
    for number, line in enumerate(lines, start=1):
        raw = _first_cell(line)
        if not raw:
            continue
        if number == 1 and HEADER_NAMES.match(raw.lower()):
            report.header = line.strip()[:120]
            continue
        code = code_normalise(raw)
        problem = code_problem(code)
        if problem:
            report.rejected_total += 1
            if len(report.rejected) < REJECTS_SHOWN:
                report.rejected.append((number, raw[:120], problem))
            continue
        if code in seen:
            report.duplicates += 1
            continue
        seen.add(code)
        valid.append(code)
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(valid), IMPORT_CHUNK):
            chunk = valid[start : start + IMPORT_CHUNK]
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    INSERT INTO automations_discountcode (campaign_id, code, created_at)
                    SELECT %(campaign)s, code, %(now)s FROM unnest(%(codes)s::text[]) AS code
                    ON CONFLICT (code) DO NOTHING
                    """,
                    {"campaign": campaign.pk, "codes": chunk, "now": now},
                )
                report.added += cursor.rowcount
    report.existing = len(valid) - report.added
    return report


# --- Redemption -----------------------------------------------------------------------------


def codes_redeem_match(*, contact_ids: Sequence[int]) -> int:
    """Mark codes redeemed by the orders of these contacts that carry them (coupon codes
    compared case-insensitively; a code used on two orders counts for the earliest; a
    cancelled order redeems nothing). One set-based UPDATE … FROM. Returns how many."""
    if not contact_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE automations_discountcode c
            SET redeemed_at = m.placed_at, order_id = m.order_id
            FROM (
                SELECT DISTINCT ON (upper(btrim(coupon)))
                       upper(btrim(coupon)) AS code, o.id AS order_id, o.placed_at
                FROM leads_order o CROSS JOIN LATERAL unnest(o.coupon_codes) AS coupon
                WHERE o.contact_id = ANY(%(ids)s)
                  AND cardinality(o.coupon_codes) > 0
                  AND o.status <> ALL(%(excluded)s)
                ORDER BY upper(btrim(coupon)), o.placed_at, o.id
            ) m
            WHERE c.code = m.code AND c.redeemed_at IS NULL
            """,
            {"ids": list(contact_ids), "excluded": list(REDEEMED_ORDER_STATUSES_EXCLUDED)},
        )
        return cursor.rowcount


@after_batch(25)
def codes_redeem_react(*, contact_ids: Sequence[int], event_ids: Sequence[int] = ()) -> None:
    """After stages (20), before segments (30), which may one day ask "redeemed a code":
    the orders of the contacts a batch touched redeem the codes they carry."""
    codes_redeem_match(contact_ids=contact_ids)


def codes_move_contact(*, survivor_id: int, merged_id: int) -> int:
    """After a merge (`leads.signals.contacts_merged`): the merged contact's codes belong to
    the survivor."""
    return DiscountCode.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)
