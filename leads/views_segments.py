"""Segment pages: the list with growth, create/edit with the rule builder and its live
count, the detail page (members with the contact list's filters, CSV export, enter/exit
history, progress), deleting after a confirmation, static-list tools (CSV upload, bulk add
from filters, remove), the personas list, and the panel on a contact's page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from growth import audit, navigation
from growth.csv_stream import csv_response
from growth.models import AuditEvent
from growth.permissions import capability_required
from growth.roles import Capability, permission_name
from leads import access
from leads import selectors_segments as selectors
from leads.forms_contacts import SORTS, ContactFilterForm
from leads.forms_segments import (
    ListUploadForm,
    SegmentForm,
    builder_choices,
    builder_nodes,
    builder_op,
    rules_from_data,
)
from leads.models import Contact, Segment
from leads.selectors import EXPORT_COLUMNS
from leads.selectors_scoring import event_names_known
from leads.services import segments as services
from leads.services.segment_rules import errors_flat, rules_clean, rules_describe

manage_segments = capability_required(Capability.MANAGE_SEGMENTS)

KIND_TITLES: dict[str, Any] = {
    Segment.Kind.DYNAMIC: gettext_lazy("New segment"),
    Segment.Kind.STATIC: gettext_lazy("New static list"),
    Segment.Kind.PERSONA: gettext_lazy("New persona"),
}
EVENT_PROPERTY_HINTS = ["product_id", "sku", "category", "price", "url", "path", "name", "total"]


def _segment_or_404(pk: int) -> Segment:
    return get_object_or_404(Segment.objects.select_related("updated_by", "created_by"), pk=pk)


# --- List -------------------------------------------------------------------------------------


@manage_segments
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.segment_list(
        kinds=[Segment.Kind.DYNAMIC, Segment.Kind.STATIC, Segment.Kind.RFM]
    )
    context = {
        "section": navigation.get("segments"),
        "tab": "segments",
        "own": [r for r in rows if r.segment.kind != Segment.Kind.RFM],
        "rfm": [r for r in rows if r.segment.kind == Segment.Kind.RFM],
        "growth_days": selectors.GROWTH_DAYS,
    }
    return render(request, "leads/segments/list.html", context)


@manage_segments
@require_GET
def persona_list(request: HttpRequest) -> HttpResponse:
    context = {"tab": "personas", "rows": selectors.persona_list()}
    return render(request, "leads/segments/personas.html", context)


# --- Editor ----------------------------------------------------------------------------------


def _tree_of(request: HttpRequest, segment: Segment | None) -> dict[str, Any]:
    if request.method == "POST":
        return rules_from_data(request.POST)
    if segment is not None and segment.rules:
        return segment.rules
    return {
        "match": "all",
        "conditions": [{"kind": "contact", "field": "country", "operator": "eq", "value": ""}],
    }


def _editor(
    request: HttpRequest,
    *,
    kind: str,
    form: SegmentForm,
    tree: dict[str, Any],
    segment: Segment | None,
    errors: dict[str, list[str]] | None = None,
    conflict: Segment | None = None,
    status: int = 200,
) -> HttpResponse:
    choices = builder_choices(exclude=segment.pk if segment else None)
    context = {
        "kind": kind,
        "form": form,
        "segment": segment,
        "root": builder_nodes(
            tree, errors=errors, choices=choices, for_persona=kind == Segment.Kind.PERSONA
        ),
        "rule_based": kind in (Segment.Kind.DYNAMIC, Segment.Kind.PERSONA),
        "title": segment.name if segment else KIND_TITLES.get(kind, _("New segment")),
        "conflict": conflict,
        "conflict_rules": rules_describe(conflict.rules) if conflict and conflict.rules else "",
        "event_names": event_names_known(),
        "event_properties": EVENT_PROPERTY_HINTS,
        "rule_errors": [m for key, ms in (errors or {}).items() if key.startswith("r") for m in ms],
    }
    return render(request, "leads/segments/form.html", context, status=status)


def _rule_errors(error: ValidationError) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(errors of the rules, keyed by path, errors of the segment's own fields)."""
    rules: dict[str, list[str]] = {}
    own: dict[str, list[str]] = {}
    for key, messages_ in error.message_dict.items():
        (rules if key.startswith("r") and key != "rules" else own)[key] = messages_
    return rules, own


@manage_segments
@require_http_methods(["GET", "POST"])
def segment_new(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("segment_kind") or request.GET.get("kind") or Segment.Kind.DYNAMIC
    if kind not in KIND_TITLES:
        raise Http404(_("No such kind of segment."))
    tree = _tree_of(request, None)
    if request.method == "GET" or "builder" in request.POST:
        if op := request.POST.get("builder"):
            tree = builder_op(tree, op)
        form = SegmentForm(request.POST if request.method == "POST" else None)
        return _editor(request, kind=kind, form=form, tree=tree, segment=None)
    form = SegmentForm(request.POST)
    errors: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            segment = services.segment_create(
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                kind=kind,
                rules=tree,
                actor=request.user,
            )
        except ValidationError as error:
            errors, own = _rule_errors(error)
            for key, messages_ in own.items():
                for message in messages_:
                    form.add_error(key if key in form.fields else None, message)
        else:
            messages.success(request, _saved_message(segment))
            return redirect("segment_detail", pk=segment.pk)
    return _editor(
        request, kind=kind, form=form, tree=tree, segment=None, errors=errors, status=400
    )


def _saved_message(segment: Segment) -> str:
    if segment.state == Segment.State.COMPUTING:
        return _(
            "“%(name)s” saved. Its members are being computed; this page updates by itself."
        ) % {"name": segment.name}
    return _("“%(name)s” saved.") % {"name": segment.name}


def _who(segment: Segment) -> str:
    user = segment.updated_by
    if user is None:
        return _("Someone")
    return user.get_full_name() or user.get_username()


@manage_segments
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment_or_404(pk)
    if segment.kind == Segment.Kind.RFM:
        messages.info(
            request, _("The shipped RFM segments are computed from orders: nothing to edit.")
        )
        return redirect("segment_detail", pk=segment.pk)
    tree = _tree_of(request, segment)
    if request.method == "GET" or "builder" in request.POST:
        if op := request.POST.get("builder"):
            tree = builder_op(tree, op)
        initial = {
            "name": segment.name,
            "description": segment.description,
            "version": segment.version,
        }
        form = (
            SegmentForm(request.POST) if request.method == "POST" else SegmentForm(initial=initial)
        )
        return _editor(request, kind=segment.kind, form=form, tree=tree, segment=segment)
    form = SegmentForm(request.POST)
    errors: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            saved = services.segment_update(
                segment=segment,
                version=form.cleaned_data.get("version") or 0,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                rules=tree,
                actor=request.user,
            )
        except services.SegmentConflict as conflict:
            current = conflict.current
            data = request.POST.copy()
            data["version"] = str(current.version)  # the next save, made knowingly, wins
            form = SegmentForm(data)
            form.is_valid()
            form.add_error(
                None,
                _(
                    "%(who)s saved this segment while you were editing it. Your changes are "
                    "not saved yet: compare with their version below, then save again to "
                    "replace it."
                )
                % {"who": _who(current)},
            )
            return _editor(
                request,
                kind=segment.kind,
                form=form,
                tree=tree,
                segment=segment,
                conflict=current,
                status=409,
            )
        except ValidationError as error:
            errors, own = _rule_errors(error)
            for key, messages_ in own.items():
                for message in messages_:
                    form.add_error(key if key in form.fields else None, message)
        else:
            messages.success(request, _saved_message(saved))
            return redirect("segment_detail", pk=saved.pk)
    return _editor(
        request, kind=segment.kind, form=form, tree=tree, segment=segment, errors=errors, status=400
    )


@manage_segments
@require_POST
def segment_builder(request: HttpRequest) -> HttpResponse:
    """htmx: the builder again after a button (add or remove a condition, a group, a
    filter) or a change of what a condition tests. Nothing is saved."""
    kind = request.POST.get("segment_kind", Segment.Kind.DYNAMIC)
    exclude = request.POST.get("segment_id", "")
    tree = builder_op(rules_from_data(request.POST), request.POST.get("builder", ""))
    choices = builder_choices(exclude=int(exclude) if exclude.isdigit() else None)
    root = builder_nodes(tree, choices=choices, for_persona=kind == Segment.Kind.PERSONA)
    response = render(request, "leads/segments/_builder.html", {"root": root, "kind": kind})
    response["HX-Trigger-After-Settle"] = "segment-rules-changed"
    return response


@manage_segments
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """htmx: how many contacts the rules as typed match now, with ten of them. Reads only;
    invalid rules get their messages instead."""
    kind = request.POST.get("segment_kind", Segment.Kind.DYNAMIC)
    context: dict[str, Any] = {}
    try:
        rules = rules_clean(rules_from_data(request.POST), for_persona=kind == Segment.Kind.PERSONA)
    except ValidationError as error:
        context["problems"] = errors_flat(error)
    else:
        preview = selectors.segment_preview(rules=rules)
        context |= {
            "preview": preview,
            "described": rules_describe(rules),
        }
    return render(request, "leads/segments/_preview.html", context)


# --- Detail --------------------------------------------------------------------------------------


def _member_context(request: HttpRequest, segment: Segment) -> dict[str, Any]:
    form = ContactFilterForm(request.GET or None)
    filters = form.filters()
    sort, descending = form.sorting()
    sort = sort if sort in selectors.MEMBER_SORTS else "created"
    page = selectors.segment_member_page(
        segment=segment,
        filters=filters,
        sort=sort,
        descending=descending,
        after=request.GET.get("after", ""),
    )
    values = {name: form.data.get(name, "") for name in form.fields}
    return {
        "form": form,
        "values": values,
        "page": page,
        "filtered": filters.active,
        "query": request.GET.urlencode(),
        "sorts": [(v, label) for v, label in SORTS if v.lstrip("-") in selectors.MEMBER_SORTS],
    }


@manage_segments
@require_GET
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _segment_or_404(pk)
    context = {
        "segment": segment,
        "described": rules_describe(segment.rules) if segment.rules else "",
        "history": selectors.segment_history(segment=segment),
        "upload_form": ListUploadForm(),
        "rfm_explained": services.RFM_EXPLAINED if segment.kind == Segment.Kind.RFM else [],
        **_member_context(request, segment),
    }
    return render(request, "leads/segments/detail.html", context)


@manage_segments
@require_http_methods(["GET", "POST"])
def segment_status(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the progress card, polled while the members are being computed; POST starts
    the computation again (after a failure)."""
    segment = _segment_or_404(pk)
    if request.method == "POST":
        services.segment_compute_restart(segment=segment)
        segment.refresh_from_db()
    response = render(request, "leads/segments/_status.html", {"segment": segment})
    if (
        segment.state == Segment.State.READY
        and request.headers.get("HX-Request")
        and request.method == "GET"
    ):
        # Done while the page watched: reload it so the members show.
        response["HX-Refresh"] = "true"
    return response


@manage_segments
@require_GET
def segment_export(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    segment = _segment_or_404(pk)
    form = ContactFilterForm(request.GET or None)
    sort, descending = form.sorting()
    rows = selectors.segment_member_export_rows(
        segment=segment, filters=form.filters(), sort=sort, descending=descending
    )
    filename = f"segment-{segment.pk}.csv"
    audit.record(
        AuditEvent.Action.EXPORT,
        target=f"segment #{segment.pk} {segment.name}",
        request=request,
        query=request.GET.urlencode(),
    )
    return csv_response(filename=filename, header=EXPORT_COLUMNS, rows=rows)


@manage_segments
@require_http_methods(["GET", "POST"])
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first (members, journeys and segments that name it); POST deletes."""
    segment = _segment_or_404(pk)
    if request.method == "GET":
        if segment.kind == Segment.Kind.RFM:
            messages.error(request, _("The shipped RFM segments cannot be deleted."))
            return redirect("segment_detail", pk=segment.pk)
        uses = services.segment_uses(segment=segment)
        context = {
            "segment": segment,
            "dependants": services.segment_dependants(segment=segment),
            "journeys": [use for use in uses if use.kind == "journey"],
            "other_uses": [use for use in uses if use.kind != "journey"],
        }
        return render(request, "leads/segments/delete_confirm.html", context)
    try:
        services.segment_delete(segment=segment)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("segment_detail", pk=segment.pk)
    messages.success(request, _("“%(name)s” deleted.") % {"name": segment.name})
    return redirect("segments")


# --- Static lists -------------------------------------------------------------------------------


def _static_or_404(pk: int) -> Segment:
    segment = _segment_or_404(pk)
    if segment.kind != Segment.Kind.STATIC:
        raise Http404(_("Only static lists take contacts by hand."))
    return segment


@manage_segments
@require_POST
def list_upload(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _static_or_404(pk)
    form = ListUploadForm(request.POST, request.FILES)
    result = None
    if form.is_valid() and form.cleaned_data["file"].size > services.MAX_CSV_BYTES:
        form.add_error(
            "file",
            _("The file is larger than %(mb)s MB: split it.")
            % {"mb": services.MAX_CSV_BYTES // 1024 // 1024},
        )
    if form.is_valid():
        try:
            result = services.static_list_upload(
                segment=segment, data=form.cleaned_data["file"].read(), actor=request.user
            )
        except ValidationError as error:
            for key, messages_ in error.message_dict.items():
                for message in messages_:
                    form.add_error(key if key in form.fields else None, message)
    if result is None:
        context = {
            "segment": segment,
            "described": "",
            "history": selectors.segment_history(segment=segment),
            "upload_form": form,
            **_member_context(request, segment),
        }
        return render(request, "leads/segments/detail.html", context, status=400)
    messages.success(
        request,
        _(
            "%(added)s contacts added, %(already)s were already in the list, %(unknown)s addresses unknown."
        )
        % {"added": result.added, "already": result.already, "unknown": len(result.unknown)},
    )
    return render(
        request,
        "leads/segments/upload_result.html",
        {"segment": segment, "result": result},
    )


@manage_segments
@require_http_methods(["GET", "POST"])
def list_add_filtered(request: HttpRequest, pk: int) -> HttpResponse:
    """Everyone the contact list shows for these filters (the Contacts page's query string
    works as it is): GET says how many and asks, POST adds them."""
    segment = _static_or_404(pk)
    form = ContactFilterForm(request.POST if request.method == "POST" else request.GET)
    filters = form.filters()
    if not filters.active:
        messages.error(request, _("Set at least one filter: adding every contact is rarely meant."))
        return redirect("segment_detail", pk=segment.pk)
    if request.method == "GET":
        context = {
            "segment": segment,
            "count": selectors.contact_count(filters=filters),
            "fields": [
                (form.fields[name].label, value)
                for name, value in form.cleaned_data.items()
                if value and name != "sort"
            ],
            "hidden": [(name, form.data.get(name)) for name in form.fields if form.data.get(name)],
        }
        return render(request, "leads/segments/add_confirm.html", context)
    added = services.static_list_add_filtered(segment=segment, filters=filters, actor=request.user)
    messages.success(
        request, _("%(n)s contacts added to “%(name)s”.") % {"n": len(added), "name": segment.name}
    )
    return redirect("segment_detail", pk=segment.pk)


@manage_segments
@require_POST
def list_remove(request: HttpRequest, pk: int) -> HttpResponse:
    segment = _static_or_404(pk)
    ids = [int(v) for v in request.POST.getlist("contact") if v.isdigit()]
    removed = services.static_list_remove(segment=segment, contact_ids=ids, actor=request.user)
    messages.success(request, _("%(n)s contacts removed from the list.") % {"n": len(removed)})
    return redirect(reverse("segment_detail", args=[segment.pk]) + "#members")


# --- On a contact's page --------------------------------------------------------------------------


def _contact_or_404(pk: int) -> Contact:
    contact = Contact.objects.filter(
        pk=pk, merged_into__isnull=True, erased_at__isnull=True
    ).first()
    if contact is None:
        raise Http404(_("No contact with this number."))
    return contact


def _panel(request: HttpRequest, contact: Contact, status: int = 200) -> HttpResponse:
    context = {
        "contact": contact,
        "segments": selectors.contact_segments(contact=contact),
        "can_manage": request.user.has_perm(permission_name(Capability.MANAGE_SEGMENTS)),
    }
    return render(request, "leads/segments/_contact_panel.html", context, status=status)


@access.contact_required
@require_GET
def contact_panel(request: HttpRequest, pk: int) -> HttpResponse:
    return _panel(request, _contact_or_404(pk))


@manage_segments
@require_POST
def contact_list_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the contact to a static list, or take it out ("remove" posted)."""
    contact = _contact_or_404(pk)
    segment = Segment.objects.filter(
        pk=request.POST.get("segment") or 0, kind=Segment.Kind.STATIC
    ).first()
    if segment is None:
        return _panel(request, contact, status=400)
    if request.POST.get("action") == "remove":
        services.static_list_remove(segment=segment, contact_ids=[contact.pk], actor=request.user)
    else:
        services.static_list_add(segment=segment, contact_ids=[contact.pk], actor=request.user)
    if request.headers.get("HX-Request"):
        return _panel(request, contact)
    return redirect(reverse("contact_detail", args=[contact.pk]) + "#segments")


@manage_segments
@require_GET
def contact_explain(request: HttpRequest, pk: int, segment_pk: int) -> HttpResponse:
    """Why this contact is (or is not) in a rule-based segment or persona: each condition."""
    contact = _contact_or_404(pk)
    segment = _segment_or_404(segment_pk)
    checks = selectors.contact_explain(segment=segment, contact_id=contact.pk)
    return render(
        request,
        "leads/segments/_explain.html",
        {"contact": contact, "segment": segment, "checks": checks},
    )
