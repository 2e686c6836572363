"""Lifecycle pages: the MQL/SQL definitions (list, edit with preview and conflict check), the
lifecycle windows, and the contact page's stage actions (move by hand, purchase intent)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from growth.permissions import capability_required
from growth.roles import Capability, Role, permission_name, roles_with
from leads import access
from leads import selectors_lifecycle as selectors
from leads.forms_lifecycle import (
    CriterionForm,
    CriterionFormSet,
    DefinitionForm,
    LifecycleSettingsForm,
    PurchaseIntentForm,
    StageMoveForm,
)
from leads.models import Contact, LifecycleSettings, QualificationDefinition
from leads.models.lifecycle import stage_label
from leads.services.lifecycle import lifecycle_settings_get, stage_move_by_user
from leads.services.qualification import (
    DefinitionConflict,
    Preview,
    criterion_describe,
    purchase_intent_record,
    qualification_definition_save,
    qualification_preview,
)

manage_scoring = capability_required(Capability.MANAGE_SCORING)
# Who may move a stage by hand or record purchase intent: whoever edits the definitions,
# and whoever works leads (reps, sales managers). Reps may not see the contact list, so the
# actions do not ask for it: the rep queue can post here too, with `next` to come back.
STAGE_MOVERS = (Capability.MANAGE_SCORING, Capability.WORK_QUEUE)


def can_move_stage(user: Any) -> bool:
    return any(user.has_perm(permission_name(c)) for c in STAGE_MOVERS)


# --- Definitions ----------------------------------------------------------------------------


@manage_scoring
def definition_list(request: HttpRequest) -> HttpResponse:
    lifecycle_settings_get()  # a new database gets the shipped defaults
    rows = selectors.definition_rows()
    context = {
        "sections": [
            (kind.value, kind.label, [r for r in rows if r.definition.kind == kind])
            for kind in QualificationDefinition.Kind
        ]
    }
    return render(request, "leads/lifecycle/definitions.html", context)


def _forms(
    request: HttpRequest, definition: QualificationDefinition | None
) -> tuple[DefinitionForm, Any]:
    fixed = definition is not None
    if request.method == "POST":
        return (
            DefinitionForm(request.POST, fixed_kind=fixed),
            CriterionFormSet(request.POST, prefix="criteria"),
        )
    if definition is None:
        kind = request.GET.get("kind")
        initial: dict[str, Any] = {"kind": kind if kind in ("mql", "sql") else "mql"}
        criteria: list[dict[str, Any]] = []
    else:
        initial = {
            "kind": definition.kind,
            "name": definition.name,
            "description": definition.description,
            "active": definition.active,
            "version": definition.version,
        }
        criteria = [CriterionForm.initial_from(c) for c in definition.criteria]
    return (
        DefinitionForm(initial=initial, fixed_kind=fixed),
        CriterionFormSet(initial=criteria, prefix="criteria"),
    )


def _preview(form: DefinitionForm, formset: Any, definition: Any) -> Preview | None:
    if not (form.is_valid() and formset.is_valid()):
        return None
    kind = definition.kind if definition else form.cleaned_data["kind"]
    return qualification_preview(kind=kind, criteria=formset.criteria())


@manage_scoring
@require_http_methods(["GET", "POST"])
def definition_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    definition = get_object_or_404(QualificationDefinition, pk=pk) if pk else None
    form, formset = _forms(request, definition)
    context: dict[str, Any] = {"definition": definition, "form": form, "formset": formset}
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "preview":
            context["preview"] = _preview(form, formset, definition)
            status = 200 if context["preview"] else 400
        elif form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                saved = qualification_definition_save(
                    definition=definition,
                    kind=definition.kind if definition else data["kind"],
                    name=data["name"],
                    description=data["description"],
                    active=data["active"],
                    criteria=formset.criteria(),
                    version=data["version"],
                    actor=request.user,
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    for message in errors:
                        if field in form.fields:
                            form.add_error(field, message)
                        else:
                            form.add_error(None, message)
                status = 400
            except DefinitionConflict as conflict:
                context["conflict"] = conflict.current
                context["conflict_criteria"] = [
                    criterion_describe(c) for c in conflict.current.criteria
                ]
                # Saving again now is a deliberate overwrite of what the other person saved.
                data = request.POST.copy()
                data["version"] = str(conflict.current.version)
                context["form"] = DefinitionForm(data, fixed_kind=definition is not None)
                status = 409
            else:
                messages.success(
                    request,
                    _("Saved “%(name)s”. Contacts are evaluated again in the background.")
                    % {"name": saved.name},
                )
                return redirect("qualification_definitions")
        else:
            status = 400
    if definition is not None:
        context["unseen_events"] = selectors.events_never_seen(criteria=definition.criteria)
    context["criterion_kinds"] = selectors.criterion_kinds()
    return render(request, "leads/lifecycle/definition_edit.html", context, status=status)


@manage_scoring
@require_POST
def definition_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The preview panel alone, for the edit page's "Preview" button (htmx)."""
    definition = get_object_or_404(QualificationDefinition, pk=pk) if pk else None
    form, formset = _forms(request, definition)
    preview = _preview(form, formset, definition)
    # 200 even when the form is wrong: htmx swaps the panel, which says what to fix.
    return render(request, "leads/lifecycle/_preview.html", {"preview": preview, "form": form})


# --- Lifecycle windows ----------------------------------------------------------------------


@manage_scoring
@require_http_methods(["GET", "POST"])
def lifecycle_settings(request: HttpRequest) -> HttpResponse:
    row = lifecycle_settings_get()
    status = 200
    conflict = None
    if request.method == "POST":
        form = LifecycleSettingsForm(request.POST, instance=row)
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in LifecycleSettingsForm.Meta.fields}
            updated = LifecycleSettings.objects.filter(
                pk=row.pk, version=form.cleaned_data["version"]
            ).update(
                **fields,
                version=F("version") + 1,
                updated_by=request.user,
                updated_at=timezone.now(),
            )
            if updated:
                messages.success(request, _("Lifecycle windows saved. The hourly pass uses them."))
                return redirect("lifecycle_settings")
            conflict = LifecycleSettings.objects.select_related("updated_by").get(pk=row.pk)
            data = request.POST.copy()
            data["version"] = str(conflict.version)
            form = LifecycleSettingsForm(data, instance=row)
            status = 409
        else:
            status = 400
    else:
        form = LifecycleSettingsForm(instance=row, initial={"version": row.version})
    context = {"form": form, "conflict": conflict, "stages": selectors.stage_counts()}
    return render(request, "leads/lifecycle/settings.html", context, status=status)


# --- Contact page actions -------------------------------------------------------------------


def _contact_for_action(request: HttpRequest, pk: int) -> Contact:
    if not can_move_stage(request.user):
        roles = {role for c in STAGE_MOVERS for role in roles_with(c)}
        names = " / ".join(str(role.label) for role in Role if role in roles)
        raise PermissionDenied(_("This needs the %(roles)s role.") % {"roles": names})
    try:
        contact = Contact.objects.get(pk=pk, merged_into__isnull=True, erased_at__isnull=True)
    except Contact.DoesNotExist as error:
        raise Http404(_("No contact with this number.")) from error
    if not access.may_act_on(request.user, contact.pk):
        # A rep acts only on its own leads; another's is answered as if it did not exist.
        raise Http404(_("No contact with this number."))
    return contact


def _panel(
    request: HttpRequest,
    contact: Contact,
    move_form: StageMoveForm | None = None,
    intent_form: PurchaseIntentForm | None = None,
) -> HttpResponse:
    from leads.templatetags.lifecycle import panel_context

    context = panel_context(request, contact, move_form=move_form, intent_form=intent_form)
    return render(request, "leads/lifecycle/_stage_panel.html", context)


def _back(request: HttpRequest, contact: Contact) -> str:
    """Where to go after an action: `next` when it is a page of this site, else the contact."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("contact_detail", args=[contact.pk])


def _done(request: HttpRequest, contact: Contact, message: str) -> HttpResponse:
    messages.success(request, message)
    url = _back(request, contact)
    if request.htmx:  # type: ignore[attr-defined]
        # The whole page follows: the badge, the "why" and the timeline all changed.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _failed(
    request: HttpRequest, contact: Contact, form: StageMoveForm | PurchaseIntentForm, **kw: Any
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        return _panel(request, contact, **kw)  # 200, so htmx swaps in the errors
    for message in form.errors.get_json_data().values():
        for error in message:
            messages.error(request, error["message"])
    return redirect(_back(request, contact))


@login_required
@require_POST
def contact_stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_for_action(request, pk)
    form = StageMoveForm(request.POST)
    if form.is_valid():
        try:
            stage_move_by_user(
                contact=contact,
                to_stage=form.cleaned_data["to_stage"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            return _done(
                request,
                contact,
                _("Moved to %(stage)s.") % {"stage": stage_label(contact.lifecycle_stage)},
            )
    return _failed(request, contact, form, move_form=form)


@login_required
@require_POST
def contact_purchase_intent(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_for_action(request, pk)
    form = PurchaseIntentForm(request.POST)
    if form.is_valid():
        try:
            purchase_intent_record(
                contact=contact, actor=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            return _done(request, contact, _("Purchase intent recorded."))
    return _failed(request, contact, form, intent_form=form)
