"""What a person does to the outbox: cancel a message that has not gone yet, send a failed
one again, lift a suppression, and change the sending policy.

Each write is safe against doubles: a cancel is one conditional UPDATE (of a cancel and a
send racing for one row, exactly one wins), a resend's key follows from the message it
repeats (a second click finds the first copy), and the policy is saved only over the version
the editor read (the second of two editors gets EditConflict, not a silent overwrite)."""

from __future__ import annotations

import re
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.limiter import policy
from automations.models import Delivery, SendingPolicy, Suppression
from automations.services.deliveries import delivery_schedule
from growth.edits import EditConflict

CANCELLABLE = (Delivery.Status.SCHEDULED, Delivery.Status.QUEUED)
RESENDABLE = (Delivery.Status.FAILED,)
RESEND_MARK = ":resend:"
KEY_MAX = Delivery._meta.get_field("key").max_length or 200
POLICY_FIELDS = (
    "allowed_from",
    "allowed_until",
    "default_time_zone",
    "email_per_day",
    "email_per_week",
    "sms_per_day",
    "sms_per_week",
)
_RESEND_SUFFIX = re.compile(r"^(?P<root>.+?):resend:(?P<n>\d+)$")


def actor_name(actor: Any) -> str:
    if actor is None:
        return _("someone")
    return str(actor.get_full_name() or actor.get_username())


# --- Cancel -------------------------------------------------------------------------------


def delivery_cancel(*, delivery_id: int, actor: Any = None) -> Delivery:
    """Stop a message that has not gone yet (scheduled, or queued with its send task on the
    way: the task finds it cancelled and does nothing). One conditional UPDATE, so a cancel
    racing the send task either wins before the provider call or finds the message sending
    and refuses; ValidationError says why when it is too late."""
    now = timezone.now()
    changed = Delivery.objects.filter(pk=delivery_id, status__in=CANCELLABLE).update(
        status=Delivery.Status.CANCELLED,
        reason=_("Cancelled by %(who)s.") % {"who": actor_name(actor)},
        updated_at=now,
    )
    delivery = Delivery.objects.get(pk=delivery_id)
    if not changed:
        if delivery.status == Delivery.Status.CANCELLED:
            raise ValidationError(_("This message was cancelled already."), code="cancelled")
        raise ValidationError(
            _("This message is %(status)s: only a scheduled or queued one can be cancelled.")
            % {"status": delivery.get_status_display()},
            code="too_late",
        )
    return delivery


# --- Send again ---------------------------------------------------------------------------


def resend_parts(key: str) -> tuple[str, int]:
    """(the first message's key, which resend this is: 0 for the first message)."""
    match = _RESEND_SUFFIX.match(key)
    if match is None:
        return key, 0
    return match["root"], int(match["n"])


def resend_key(delivery: Delivery) -> str:
    """The key the copy of `delivery` gets: `<first key>:resend:<n>`, n counting the copies.
    It follows from the message repeated, so repeating one message twice is one copy."""
    root, number = resend_parts(delivery.key)
    return f"{root}{RESEND_MARK}{number + 1}"


def delivery_resend(*, delivery_id: int, actor: Any = None) -> tuple[Delivery, bool]:
    """A copy of a failed message, due now: (the copy, whether it was made now). The limiter
    checks it again at send time (consent, suppression, quiet hours and caps for marketing).
    A second request for the same failed message returns the copy made by the first."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None:
            raise Delivery.DoesNotExist
        key = resend_key(delivery)
        copy = Delivery.objects.filter(key=key).first()
        if copy is not None:
            return copy, False
        if delivery.status not in RESENDABLE:
            raise ValidationError(
                _("This message is %(status)s: only a failed one can be sent again.")
                % {"status": delivery.get_status_display()},
                code="not_failed",
            )
        if len(key) > KEY_MAX:
            raise ValidationError(_("This message's key is too long to send it again."))
        copy = delivery_schedule(
            key=key,
            contact=delivery.contact,
            channel=delivery.channel,
            purpose=delivery.purpose,
            due_at=timezone.now(),
            subject=delivery.subject,
            text=delivery.body_text,
            html=delivery.body_html,
            priority=delivery.priority,
            origin=delivery.origin,
            tags=list(delivery.tags or []),
            template=delivery.template,
            to_address=delivery.to_address,
        )
    return copy, True


# --- Suppressions -------------------------------------------------------------------------


def suppression_remove(*, suppression_id: int) -> Suppression | None:
    """Let messages reach the address again (from the next send on). Returns the removed row,
    or None when it was removed already (a second click)."""
    with transaction.atomic():
        row = Suppression.objects.select_for_update().filter(pk=suppression_id).first()
        if row is None:
            return None
        row.delete()
    return row


# --- Sending policy -----------------------------------------------------------------------


def time_zone_clean(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Name a time zone, for example Europe/Berlin."))
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError(
            _("“%(name)s” is not a time zone. Use a name such as Europe/Berlin or UTC.")
            % {"name": name}
        ) from error
    return name


def policy_clean(fields: dict[str, Any]) -> dict[str, Any]:
    """The policy's fields, checked; ValidationError keyed by field."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(fields)
    try:
        cleaned["default_time_zone"] = time_zone_clean(fields.get("default_time_zone", ""))
    except ValidationError as error:
        errors["default_time_zone"] = error.messages
    start, until = fields.get("allowed_from"), fields.get("allowed_until")
    if isinstance(start, time) and isinstance(until, time) and start == until:
        errors["allowed_until"] = [
            _(
                "The window would be empty and nothing would ever go out: end it at another "
                "time (a window over midnight, such as 18:00 to 02:00, is fine)."
            )
        ]
    for channel in ("email", "sms"):
        day, week = fields.get(f"{channel}_per_day"), fields.get(f"{channel}_per_week")
        if isinstance(day, int) and isinstance(week, int) and week < day:
            errors[f"{channel}_per_week"] = [
                _(
                    "At most %(day)s a day but fewer a week: the week's cap would always "
                    "bite first. Raise it to at least %(day)s or lower the day's cap."
                )
                % {"day": day}
            ]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def sending_policy_update(*, version: int, actor: Any = None, **fields: Any) -> SendingPolicy:
    """Save the quiet-hours window, the default time zone and the caps over `version`, the
    one the editor read. Takes effect at the next send: deliveries already deferred keep
    their due time and are checked again then."""
    policy()  # the row exists from here on
    current = SendingPolicy.objects.select_for_update().get(pk=1)
    if current.version != version:
        raise EditConflict(current)
    cleaned = policy_clean({name: fields.get(name) for name in POLICY_FIELDS})
    for name in POLICY_FIELDS:
        setattr(current, name, cleaned[name])
    current.version += 1
    current.save()
    return current
