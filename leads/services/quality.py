"""Reps judge the leads they work: good, or bad with a reason. Writes only; the reports that
feed this back to marketing are in `leads.selectors_quality`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from leads import signals
from leads.models import Contact, LeadRating, ScoringRule
from leads.services.scoring import scoring_rule_update

NOTE_MAX_LENGTH = 1000


def _clean(verdict: str, reason: str, note: str) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    if verdict not in LeadRating.Verdict.values:
        errors["verdict"] = [_("Choose good or bad.")]
    reason = reason.strip() if verdict == LeadRating.Verdict.BAD else ""  # good needs none
    if verdict == LeadRating.Verdict.BAD and reason not in LeadRating.Reason.values:
        errors["reason"] = [_("Say why this lead is bad: marketing uses the reasons.")]
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = [
            _("Keep the note under %(max)s characters (this one has %(n)s).")
            % {"max": NOTE_MAX_LENGTH, "n": len(note)}
        ]
    elif reason == LeadRating.Reason.OTHER and not note:
        errors["note"] = [_("“Other” needs a note saying what was wrong.")]
    if errors:
        raise ValidationError(errors)
    return verdict, reason, note


@transaction.atomic
def lead_rate(
    *, contact: Contact, actor: Any, verdict: str, reason: str = "", note: str = ""
) -> LeadRating:
    """Record a verdict on a lead; it replaces the lead's current one, which stays as history."""
    verdict, reason, note = _clean(verdict, reason, note)
    # The contact's row lock orders two reps rating the same lead at once: the later wins
    # and the earlier becomes history, instead of one of them hitting the unique constraint.
    locked = (
        Contact.objects.select_for_update()
        .filter(pk=contact.pk, merged_into__isnull=True, erased_at__isnull=True)
        .values_list("pk", flat=True)
    )
    if not locked:
        raise ValidationError(_("This contact was merged or erased; rate the one it became."))
    LeadRating.objects.filter(contact_id=contact.pk, current=True).update(current=False)
    rating = LeadRating.objects.create(
        contact_id=contact.pk, verdict=verdict, reason=reason, note=note, rated_by=actor
    )
    contact_id, rating_id = contact.pk, rating.pk
    transaction.on_commit(
        lambda: signals.lead_rated.send(
            sender=LeadRating,
            contact_id=contact_id,
            rating_id=rating_id,
            verdict=verdict,
            reason=reason,
        )
    )
    return rating


def ratings_merge(*, survivor_id: int, merged_id: int) -> None:
    """Both records' ratings become the survivor's history; the newest verdict stays current."""
    currents = list(
        LeadRating.objects.filter(contact_id__in=[survivor_id, merged_id], current=True)
        .order_by("-rated_at", "-id")
        .values_list("pk", flat=True)
    )
    if len(currents) > 1:
        LeadRating.objects.filter(pk__in=currents[1:]).update(current=False)
    LeadRating.objects.filter(contact_id=merged_id).update(contact_id=survivor_id)


def ratings_erase(*, contact_id: int) -> None:
    """What a rep wrote about an erased person goes; the verdict stays for the statistics."""
    LeadRating.objects.filter(contact_id=contact_id).exclude(note="").update(note="")


@transaction.atomic
def rule_points_accept(*, changes: list[tuple[int, int, int]], actor: Any) -> list[ScoringRule]:
    """Give several rules their suggested points at once: (rule id, version seen, points).
    All or nothing: one rule changed meanwhile (EditConflict) or refused leaves every rule
    as it was. The rules share the one recompute this queues."""
    rules = ScoringRule.objects.in_bulk([pk for pk, _, _ in changes])
    saved = []
    for pk, version, points in changes:
        if pk not in rules:
            raise ValidationError(_("A rule of this report was deleted meanwhile; reload it."))
        saved.append(
            scoring_rule_update(rule=rules[pk], version=version, actor=actor, points=points)
        )
    return saved
