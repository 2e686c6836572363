"""Journey pages: the list (with the shipped journeys to start from and a blank one), the
browser builder and its JSON endpoints (draft, check, publish, status), and the results of
the live version per node. Every page needs MANAGE_JOURNEYS.

The builder posts the whole graph as JSON; the answer carries the draft's new version and
its problems, each with the node it is about, so the canvas can mark the node. A stale
version is answered 409: someone else saved in between."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automations import selectors_journeys as selectors
from automations.forms_journeys import (
    JourneyCreateForm,
    ShippedForm,
    StatusForm,
    draft_clean,
)
from automations.journeys.engine import (
    EditConflict,
    journey_draft_save,
    journey_problems,
    journey_publish,
    journey_set_status,
)
from automations.journeys.graph import CONDITION_KINDS, KINDS, TRIGGERS
from automations.journeys.nodes import runnable
from automations.journeys.shipped import SHIPPED, shipped_by_key, shipped_install
from automations.models import DiscountCampaign, Journey, MessageTemplate, Survey
from automations.models.delivery import MESSAGE_CHANNELS
from growth.permissions import capability_required
from growth.roles import Capability, Role
from growth.shipped import shipped_text
from leads.models import LifecycleStage, Segment
from leads.services.scoring_conditions import CONTACT_FIELDS, NO_VALUE_OPERATORS, OPERATORS

manage_journeys = capability_required(Capability.MANAGE_JOURNEYS)

MAX_BODY = 512 * 1024  # a graph of 200 nodes with their settings is far below this
PALETTE_GROUPS = (
    ("trigger", gettext_lazy("Start")),
    ("flow", gettext_lazy("Flow")),
    ("action", gettext_lazy("Actions")),
    ("goal", gettext_lazy("Goal")),
)


# --- The list ----------------------------------------------------------------------------------


def _list_page(
    request: HttpRequest, form: JourneyCreateForm | None = None, status: int = 200
) -> HttpResponse:
    rows = selectors.journey_list_rows()
    installed = {row.journey.shipped_key for row in rows if row.journey.shipped_key}
    return render(
        request,
        "automations/journeys/list.html",
        {
            "rows": rows,
            "form": form or JourneyCreateForm(),
            "shipped": [s for s in SHIPPED if s.key not in installed],
        },
        status=status,
    )


@manage_journeys
@require_GET
def journey_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@manage_journeys
@require_POST
def journey_create(request: HttpRequest) -> HttpResponse:
    form = JourneyCreateForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    journey = form.create(actor=request.user)
    messages.success(
        request,
        _("“%(name)s” created: draw its steps on the canvas.")
        % {"name": shipped_text(journey.name)},
    )
    return redirect("journey_builder", pk=journey.pk)


@manage_journeys
@require_POST
def journey_install(request: HttpRequest) -> HttpResponse:
    form = ShippedForm(request.POST)
    if not form.is_valid() or form.cleaned_data["key"] not in shipped_by_key():
        raise Http404(_("No such shipped journey."))
    journey = shipped_install(key=form.cleaned_data["key"], actor=request.user)
    messages.success(
        request,
        _("“%(name)s” installed as a draft: check it, then publish.")
        % {"name": shipped_text(journey.name)},
    )
    return redirect("journey_builder", pk=journey.pk)


# --- The builder -------------------------------------------------------------------------------


def _problems(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"node": node, "message": message} for node, message in pairs]


def _options() -> dict[str, Any]:
    """What the side panel offers to choose from. A fixed handful of queries."""
    return {
        "triggers": [[k, str(v)] for k, v in TRIGGERS.items()],
        "condition_kinds": [
            [k, str(v)]
            for k, v in zip(
                CONDITION_KINDS,
                (
                    _("a contact field"),
                    _("an event in the last days"),
                    _("membership of a segment"),
                    _("consent for a channel"),
                    _("the lifecycle stage"),
                ),
                strict=True,
            )
        ],
        "date_properties": [
            ["days_since_last_order", _("days since the last order")],
            ["birthday", _("birthday")],
        ],
        "stages": [[v, str(label)] for v, label in LifecycleStage.choices],
        "channels": [[v, str(label)] for v, label in MESSAGE_CHANNELS],
        "roles": [[v, str(label)] for v, label in Role.choices],
        "operators": [[k, str(v)] for k, v in OPERATORS.items()],
        "no_value_operators": sorted(NO_VALUE_OPERATORS),
        "contact_fields": list(CONTACT_FIELDS),
        "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        "templates": [
            {"id": t.pk, "name": shipped_text(t.name), "channel": t.channel}
            for t in MessageTemplate.objects.order_by("name").only("id", "name", "channel")
        ],
        "segments": [
            {"id": s.pk, "name": shipped_text(s.name), "kind": s.kind}
            for s in Segment.objects.order_by("name").only("id", "name", "kind")
        ],
        "surveys": [
            {"id": s.pk, "name": shipped_text(s.name)}
            for s in Survey.objects.order_by("name").only("id", "name")
        ],
        "campaigns": [
            {"id": c.pk, "name": shipped_text(c.name)}
            for c in DiscountCampaign.objects.order_by("name").only("id", "name")
        ],
    }


def _kinds() -> dict[str, Any]:
    return {
        key: {
            "label": str(kind.label),
            "group": kind.group,
            "branches": list(kind.branches),
            "dynamic": kind.dynamic_branches,
        }
        for key, kind in KINDS.items()
    }


def _text() -> dict[str, Any]:
    """The builder's words, translated here so the script carries none."""
    return {
        "panel_empty": _("Choose a step on the canvas or in the list of steps to set it up."),
        "step": _("Step %(id)s"),
        "paths": _("Where contacts go next"),
        "path": {
            "next": _("Then go to"),
            "yes": _("If yes, go to"),
            "no": _("If no, go to"),
            "event": _("When the event comes, go to"),
            "timeout": _("If it does not come in time, go to"),
            "split": _("Path “%(key)s” goes to"),
            "other": _("Connection on a path this step does not have: “%(key)s” to %(to)s"),
        },
        "branch": {
            "yes": _("yes"),
            "no": _("no"),
            "event": _("event"),
            "timeout": _("timeout"),
        },
        "end_here": _("nowhere: the path ends here"),
        "delete_step": _("Delete this step"),
        "remove": _("Remove"),
        "choose": _("choose…"),
        "field": {
            "trigger_kind": _("Starts when the contact"),
            "event": _("Event name"),
            "segment": _("Segment"),
            "stage": _("Lifecycle stage"),
            "date_property": _("Date"),
            "days_after": _("Days after the date"),
            "survey": _("Survey"),
            "days": _("Days"),
            "hours": _("Hours"),
            "minutes": _("Minutes"),
            "time": _("At (the contact's own time)"),
            "weekdays": _("On these days"),
            "wait_event": _("Wait for the event"),
            "timeout_hours": _("Give up after (hours)"),
            "condition_kind": _("Check"),
            "conditions": _("Conditions"),
            "trigger_conditions": _("Only when the event's properties match (optional)"),
            "property": _("Property"),
            "operator": _("Operator"),
            "value": _("Value"),
            "add_condition": _("Add a condition"),
            "condition_n": _("Condition %(n)s"),
            "within_days": _("In the last (days)"),
            "count": _("At least (times)"),
            "channel": _("Channel"),
            "stages": _("Stages"),
            "branches": _("Paths and their shares"),
            "branch_key": _("Name of path %(n)s"),
            "branch_percent": _("Share of path %(n)s (%%)"),
            "add_branch": _("Add a path"),
            "template": _("Message template"),
            "best_time": _("Send at the time this contact usually reads"),
            "no_templates": _("No template on this channel yet."),
            "write_template": _("Write one"),
            "prop_name": _("Property name"),
            "prop_value": _("Value"),
            "as_tag": _("Add the name as a tag (the value is not used)"),
            "list": _("List (static segments only)"),
            "task_title": _("Task"),
            "task_body": _("Details"),
            "task_role": _("For the role"),
            "url": _("Address (https://…)"),
            "campaign": _("Discount campaign"),
            "goal_event": _("Event that reaches the goal"),
        },
        "note": {
            "exit": _("Contacts leave the journey here."),
            "goal": _(
                "Whenever a contact on the journey does this event, the run ends as converted,"
                " wherever it is. A goal needs no connection."
            ),
            "trigger": _("Every journey has exactly one trigger."),
        },
        "summary": {
            "none": _("not set up yet"),
            "no_template": _("no template chosen"),
            "d": _("%(n)s d"),
            "h": _("%(n)s h"),
            "min": _("%(n)s min"),
            "timeout": _("gives up after %(n)s h"),
            "tag": _("tag “%(name)s”"),
            "set": _("%(name)s = “%(value)s”"),
            "missing": _("(deleted: %(id)s)"),
        },
        "status": {
            "saving": _("Saving…"),
            "saved": _("Saved."),
            "unsaved": _("Unsaved changes."),
            "checking": _("Checking…"),
            "published": _("Published as version %(n)s."),
            "publishing": _("Publishing…"),
            "conflict": _(
                "Someone else saved this journey after you opened it. Reload to see their"
                " version; the changes you made here since your last save will be lost."
            ),
            "reload": _("Reload"),
            "error": _("Could not save: %(reason)s"),
            "offline": _("Growth did not answer. Check the connection and try again."),
            "deleted": _("Step deleted."),
            "added": _("%(kind)s added: set it up in the panel."),
            "changed": _("The journey is now %(status)s."),
            "archive_confirm": _(
                "Archive this journey? Every contact on its way through it leaves it now."
            ),
            "not_published": _("not published"),
            "live": _("version %(n)s"),
        },
        "problems_title": _("To fix before publishing"),
        "no_problems": _("No problems: ready to publish."),
        "graph_problem": _("The journey"),
        "node_problems": _("%(n)s problem(s)"),
        "results": {
            "entered": _("entered"),
            "waiting": _("waiting now"),
            "passed": _("passed"),
            "dropped": _("dropped"),
            "failed": _("failed"),
        },
        "statuses": {v: str(label) for v, label in Journey.Status.choices},
    }


def _palette() -> list[tuple[str, list[tuple[str, str]]]]:
    """Kinds a marketer can place, by group. Kinds whose step cannot run yet are left out."""
    groups = []
    for group, label in PALETTE_GROUPS:
        kinds = [
            (key, str(kind.label))
            for key, kind in KINDS.items()
            if kind.group == group and (runnable(key) or key == "goal")
        ]
        if kinds:
            groups.append((str(label), kinds))
    return groups


def _urls(journey: Journey) -> dict[str, str]:
    return {
        "draft": reverse("journey_draft", args=[journey.pk]),
        "check": reverse("journey_check", args=[journey.pk]),
        "publish": reverse("journey_publish", args=[journey.pk]),
        "status": reverse("journey_status", args=[journey.pk]),
        "results": reverse("journey_results", args=[journey.pk]),
        "template_new": reverse("template_new"),
    }


def _journey_state(journey: Journey) -> dict[str, Any]:
    return {
        "id": journey.pk,
        "name": journey.name,
        "status": journey.status,
        "version": journey.version,
        "live": journey.live.number if journey.live else None,
    }


@manage_journeys
@require_GET
def journey_builder(request: HttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey.objects.select_related("live", "audience"), pk=pk)
    problems = _problems(journey_problems(journey))
    config = {
        "mode": "edit",
        "urls": _urls(journey),
        "journey": {**_journey_state(journey), "problems": problems},
        "graph": journey.draft or {"nodes": [], "edges": []},
        "kinds": _kinds(),
        "options": _options(),
        "text": _text(),
    }
    return render(
        request,
        "automations/journeys/builder.html",
        {"journey": journey, "config": config, "palette": _palette(), "problems": problems},
    )


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise ValidationError(_("The journey is too big to save."))
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(_("The request is not JSON.")) from None
    if not isinstance(body, dict):
        raise ValidationError(_("The request must be a JSON object."))
    return body


def _version(value: Any) -> int:
    if isinstance(value, bool):
        raise ValidationError(_("Say which version of the draft you edited."))
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError(_("Say which version of the draft you edited.")) from None


def _error(error: ValidationError, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": " ".join(error.messages), **extra}, status=status)


def _conflict(conflict: EditConflict) -> JsonResponse:
    return JsonResponse(
        {
            "error": _("Someone else saved this journey after you opened it."),
            "version": conflict.current.version,
        },
        status=409,
    )


@manage_journeys
@require_http_methods(["GET", "POST"])
def journey_draft(request: HttpRequest, pk: int) -> JsonResponse:
    """GET: the draft, its version and problems. POST {"version", "graph"}: save it."""
    journey = get_object_or_404(Journey.objects.select_related("live"), pk=pk)
    if request.method == "POST":
        try:
            body = _json_body(request)
            version = _version(body.get("version"))
            draft = draft_clean(body.get("graph"))
        except ValidationError as error:
            return _error(error)
        try:
            journey = journey_draft_save(
                journey=journey, version=version, actor=request.user, draft=draft
            )
        except EditConflict as conflict:
            return _conflict(conflict)
    return JsonResponse(
        {
            **_journey_state(journey),
            "graph": journey.draft,
            "problems": _problems(journey_problems(journey)),
        }
    )


@manage_journeys
@require_POST
def journey_check(request: HttpRequest, pk: int) -> JsonResponse:
    """The problems of a graph as drawn, before it is saved: the builder asks after every
    change, so a marketer sees a problem appear and go away while editing."""
    journey = get_object_or_404(Journey, pk=pk)
    try:
        draft = draft_clean(_json_body(request).get("graph"))
    except ValidationError as error:
        return _error(error)
    unsaved = Journey(pk=journey.pk, name=journey.name, draft=draft)
    return JsonResponse({"problems": _problems(journey_problems(unsaved))})


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@manage_journeys
@require_POST
def journey_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey, pk=pk)
    try:
        version = _version(request.POST.get("version"))
        published = journey_publish(journey=journey, version=version, actor=request.user)
    except EditConflict as conflict:
        if not _wants_json(request):
            messages.error(request, _("Someone else saved this journey in between: look again."))
            return redirect("journey_builder", pk=pk)
        return _conflict(conflict)
    except ValidationError as error:
        if not _wants_json(request):
            messages.error(request, " ".join(error.messages))
            return redirect("journey_builder", pk=pk)
        return _error(error, problems=_problems(journey_problems(journey)))
    journey.refresh_from_db()
    if not _wants_json(request):
        messages.success(request, _("Published as version %(n)s.") % {"n": published.number})
        return redirect("journey_builder", pk=pk)
    return JsonResponse({**_journey_state(journey), "live": published.number, "problems": []})


@manage_journeys
@require_POST
def journey_status_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause, resume or archive."""
    journey = get_object_or_404(Journey.objects.select_related("live"), pk=pk)
    form = StatusForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("A journey can be active, paused or archived."))
        journey_set_status(journey=journey, status=form.cleaned_data["status"], actor=request.user)
    except ValidationError as error:
        if not _wants_json(request):
            messages.error(request, " ".join(error.messages))
            return redirect("journey_builder", pk=pk)
        return _error(error)
    if not _wants_json(request):
        messages.success(
            request,
            _("The journey is now %(status)s.") % {"status": journey.get_status_display()},
        )
        return redirect("journey_builder", pk=pk)
    return JsonResponse(_journey_state(journey))


# --- Results -----------------------------------------------------------------------------------


@manage_journeys
@require_GET
def journey_results(request: HttpRequest, pk: int) -> HttpResponse:
    journey = get_object_or_404(Journey.objects.select_related("live"), pk=pk)
    results = selectors.journey_results(journey)
    config = {
        "mode": "results",
        "urls": {},
        "journey": {**_journey_state(journey), "problems": []},
        "graph": journey.live.graph if journey.live else {"nodes": [], "edges": []},
        "results": results.by_node(),
        "kinds": _kinds(),
        "options": _options(),
        "text": _text(),
    }
    return render(
        request,
        "automations/journeys/results.html",
        {
            "journey": journey,
            "results": results,
            "config": config,
            "splits": selectors.journey_splits(journey),
            "figures": selectors.journey_messages(journey),  # "messages" is Django's
        },
    )
