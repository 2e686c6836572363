"""The contact page's stage panel (current stage, why, and the actions) and stage labels."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from leads.forms_lifecycle import PurchaseIntentForm, StageMoveForm
from leads.models import Contact, LifecycleStage
from leads.models.lifecycle import stage_label as _stage_label
from leads.selectors_lifecycle import stage_latest
from leads.services.lifecycle import REASON_MAX_LENGTH

register = template.Library()


@register.filter
def stage_label(value: str) -> str:
    return _stage_label(value)


def panel_context(
    request: HttpRequest,
    contact: Contact,
    *,
    move_form: StageMoveForm | None = None,
    intent_form: PurchaseIntentForm | None = None,
) -> dict[str, Any]:
    from leads.views_lifecycle import can_move_stage

    move_form = move_form or StageMoveForm()
    return {
        "request": request,
        "contact": contact,
        "stage_now": _stage_label(contact.lifecycle_stage),
        "latest": stage_latest(contact=contact),
        "can_move": can_move_stage(request.user),
        "move_form": move_form,
        "intent_form": intent_form or PurchaseIntentForm(),
        "stage_choices": LifecycleStage.choices,
        "chosen_stage": move_form.data.get("to_stage", contact.lifecycle_stage),
        "reason_max": REASON_MAX_LENGTH,
    }


@register.inclusion_tag("leads/lifecycle/_stage_panel.html", takes_context=True)
def stage_panel(context: template.Context, contact: Contact) -> dict[str, Any]:
    """One query (the latest change); the user's permissions are already cached."""
    panel = panel_context(context["request"], contact)
    panel["csrf_token"] = context.get("csrf_token")
    return panel
