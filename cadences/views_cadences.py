"""The sales manager's cadence designer: the list (with the shipped cadences to start from),
the editor (rules, assignment and the steps), one cadence (its live steps, versions and
enrollments, with publish / pause / archive and enrolling by hand), the reps and teams,
and the SLA. Every page needs MANAGE_CADENCES.

The steps editor works without JavaScript: "Add a step" and the move buttons submit the
form and the page comes back with the rows changed and nothing saved; cadence-steps.js
does the same in the page when scripts run. Reads go through selectors_cadences, writes
through the services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadences import selectors_cadences as selectors
from cadences.forms_cadences import (
    BLANK_STEP,
    TIME_ZONES,
    WEEKDAY_SHORT,
    CadenceFilterForm,
    CadenceForm,
    EnrollForm,
    EnrollmentActionForm,
    EnrollmentFilterForm,
    InstallForm,
    MalformedPost,
    RepForm,
    SegmentEnrollForm,
    SlaForm,
    StatusForm,
    StepRows,
    TeamForm,
    apply_errors,
    split_list,
)
from cadences.models import Cadence, Rep, StepKind, Team
from cadences.services.cadences import (
    MAX_STEPS,
    SHIPPED,
    cadence_publish,
    cadence_save,
    cadence_set_status,
    shipped_cadence_install,
    steps_clean,
)
from cadences.services.enrollment import (
    enrollment_pause,
    enrollment_resume,
    enrollment_start,
    enrollment_stop,
    enrollments_start_for_segment,
)
from cadences.services.setup import rep_save, sla_policy_save, team_save
from growth import navigation
from growth.edits import EditConflict
from growth.permissions import capability_required
from growth.roles import Capability

manage_cadences = capability_required(Capability.MANAGE_CADENCES)

RULE_FIELDS = {f"rules.{name}": name for name in ("sources", "countries", "personas", "segments")}
RULE_FIELDS["rules.min_score"] = "min_score"


def _cadence_or_404(pk: int) -> Cadence:
    cadence = selectors.cadence_get(pk)
    if cadence is None:
        raise Http404(_("No cadence with this number."))
    return cadence


def _all_segments() -> list[tuple[str, str]]:
    """Personas and segments together, by name: bulk enroll takes either."""
    personas, segments = selectors.segment_choices()
    return sorted([*personas, *segments], key=lambda s: s[1].lower())


def _days_text(days: list[int]) -> str:
    return ", ".join(str(WEEKDAY_SHORT[d]) for d in days if 0 <= d <= 6)


# --- The list -------------------------------------------------------------------------------


def _list_page(request: HttpRequest, status: int = 200) -> HttpResponse:
    form = CadenceFilterForm(request.GET)
    chosen = form.cleaned_data["status"] if form.is_valid() else ""
    rows = selectors.cadence_list_rows(status=chosen)
    installed = selectors.cadence_names()
    return render(
        request,
        "cadences/cadences/list.html",
        {
            "rows": rows,
            "form": form,
            "filtered": bool(chosen),
            "any_cadence": bool(rows) or bool(installed),
            "shipped": [s for s in SHIPPED if s.name.lower() not in installed],
            "section": navigation.get("cadences"),
        },
        status=status,
    )


@manage_cadences
@require_GET
def cadence_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@manage_cadences
@require_POST
def cadence_install(request: HttpRequest) -> HttpResponse:
    form = InstallForm(request.POST)
    shipped = {s.key: s for s in SHIPPED}
    if not form.is_valid() or form.cleaned_data["key"] not in shipped:
        messages.error(request, _("There is no such shipped cadence: choose one from the list."))
        return _list_page(request, status=400)
    spec = shipped[form.cleaned_data["key"]]
    existing = selectors.cadence_named(spec.name)
    if existing is not None:  # a double click, or another manager was quicker
        messages.info(request, _("“%(name)s” is installed already.") % {"name": spec.name})
        return redirect("cadence_detail", pk=existing.pk)
    publish = form.cleaned_data["publish"]
    try:
        cadence = shipped_cadence_install(key=spec.key, publish=publish, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("cadences")
    if publish:
        messages.success(
            request,
            _("“%(name)s” installed and published: new MQLs that match its rules enter it now.")
            % {"name": cadence.name},
        )
    else:
        messages.success(
            request,
            _("“%(name)s” installed as a draft: check its steps, then publish it.")
            % {"name": cadence.name},
        )
    return redirect("cadence_detail", pk=cadence.pk)


# --- The editor -----------------------------------------------------------------------------


def _forms_context(
    request: HttpRequest,
    cadence: Cadence | None,
    form: CadenceForm,
    rows: StepRows,
    templates: list[tuple[int, str, str]],
    **extra: Any,
) -> dict[str, Any]:
    blank = StepRows.build([dict(BLANK_STEP)], templates, bound=False).forms[0]
    blank.prefix = "step-__n__"  # the script's template row: it numbers the copies
    return {
        "cadence": cadence,
        "form": form,
        "rows": rows,
        "blank_row": blank,
        "max_steps": MAX_STEPS,
        "automatic_kinds": [StepKind.EMAIL_AUTO.value, StepKind.SMS_AUTO.value],
        "has_templates": bool(templates),
        "form_errors": form.errors or rows.has_errors(),
        **extra,
    }


def _shown(form: CadenceForm, personas: Any, segments: Any) -> CadenceForm:
    """The same values, unbound: after an add or a move nothing is checked yet, so no
    "required" message appears under a field the user has not reached."""
    values = {name: form[name].value() for name in form.fields}
    return CadenceForm(initial=values, personas=personas, segments=segments)


def _move(rows: list[dict[str, str]], action: str) -> list[dict[str, str]] | None:
    """ "up-3" / "down-3": the row at index 3 one place up or down. None: not a move."""
    direction, _sep, index = action.partition("-")
    if direction not in ("up", "down") or not index.isdigit():
        return None
    n = int(index)
    other = n - 1 if direction == "up" else n + 1
    if 0 <= n < len(rows) and 0 <= other < len(rows):
        rows[n], rows[other] = rows[other], rows[n]
    return rows


def _their_steps(current: Cadence, templates: list[tuple[int, str, str]]) -> list[dict[str, Any]]:
    names = {pk: name for pk, name, _channel in templates}
    kinds = dict(StepKind.choices)
    return [
        {
            "day": s.get("day"),
            "from": s.get("from", ""),
            "until": s.get("until", ""),
            "kind": kinds.get(s.get("kind", ""), s.get("kind", "")),
            "template": names.get(s.get("template") or 0, ""),
        }
        for s in current.draft_steps or []
        if isinstance(s, dict)
    ]


def _editor(request: HttpRequest, cadence: Cadence | None) -> HttpResponse:
    templates = selectors.step_templates()
    personas, segments = selectors.segment_choices()
    template_name = "cadences/cadences/form.html"

    def page(form: CadenceForm, rows: StepRows, status: int = 200, **extra: Any) -> HttpResponse:
        context = _forms_context(request, cadence, form, rows, templates, **extra)
        return render(request, template_name, context, status=status)

    if request.method != "POST":
        initial = CadenceForm.initial_for(cadence) if cadence else {}
        form = CadenceForm(initial=initial, personas=personas, segments=segments)
        return page(form, StepRows.from_draft(cadence.draft_steps if cadence else [], templates))

    form = CadenceForm(request.POST, personas=personas, segments=segments)
    action = request.POST.get("action", "save")
    try:
        raw = StepRows.raw_from_post(request.POST)
    except MalformedPost:
        rows = StepRows.from_draft(cadence.draft_steps if cadence else [], templates)
        rows.errors.append(
            _("The steps could not be read: reload the page and enter the changes again.")
        )
        return page(_shown(form, personas, segments), rows, status=400)

    if action == "add":
        rows = StepRows.build(raw, templates, bound=False)
        if len(raw) >= MAX_STEPS:
            rows.errors.append(_("Keep a cadence under %(n)d steps.") % {"n": MAX_STEPS})
        else:
            last_day = next((r["day"] for r in reversed(raw) if r["day"].strip()), "0")
            rows = StepRows.build([*raw, {**BLANK_STEP, "day": last_day}], templates, bound=False)
            # Without the script the page reloads: put the cursor where the user goes next.
            rows.forms[-1].fields["day"].widget.attrs["autofocus"] = True
        return page(_shown(form, personas, segments), rows)
    if action != "save":
        moved = _move(raw, action)
        if moved is None:
            rows = StepRows.build(raw, templates, bound=False)
            rows.errors.append(_("That button is not part of this form: nothing was changed."))
            return page(_shown(form, personas, segments), rows, status=400)
        return page(_shown(form, personas, segments), StepRows.build(moved, templates, bound=False))

    rows = StepRows.build(raw, templates, bound=True)
    form_ok, rows_ok = form.is_valid(), rows.valid()
    if cadence is not None and form_ok and form.cleaned_data["version"] is None:
        form.add_error(None, _("The form was incomplete: reload the page and try again."))
        return page(form, rows, status=400)
    if not rows_ok:
        return page(form, rows)
    kept = rows.kept()
    if not form_ok:
        # Check the steps too, so every message shows at once, not the steps' after a retry.
        try:
            steps_clean([step for _n, step in kept])
        except ValidationError as error:
            rows.apply_errors(error, [n for n, _step in kept])
        return page(form, rows)
    data = form.cleaned_data
    try:
        saved = cadence_save(
            cadence=cadence,
            name=data["name"],
            description=data["description"],
            steps=[step for _n, step in kept],
            rules=form.rules(),
            assignment=data["assignment"],
            rank=data["rank"],
            weight=data["weight"],
            team=data["team"],
            version=data["version"] if cadence else None,
        )
    except EditConflict as conflict:
        current = conflict.current
        # Keep what this user typed; the next save, made knowingly, replaces their version.
        kept_data = request.POST.copy()
        kept_data["version"] = str(current.version)
        form = CadenceForm(kept_data, personas=personas, segments=segments)
        form.is_valid()
        form.add_error(
            None,
            _(
                "Someone saved this cadence while you were editing it. Your changes are not "
                "saved yet: compare with their version, then save again to replace it."
            ),
        )
        return page(
            form,
            rows,
            status=409,
            conflict=current,
            their_steps=_their_steps(current, templates),
        )
    except ValidationError as error:
        rest = rows.apply_errors(error, [n for n, _step in kept])
        if rest:
            apply_errors(ValidationError(rest), form, rename=RULE_FIELDS)
        return page(form, rows)
    except IntegrityError:  # the same name saved twice at once (a double click)
        form.add_error("name", _("Another cadence has this name."))
        return page(form, rows)
    if saved.live_id is None:
        done = _("“%(name)s” saved as a draft. Publish it to put new leads on these steps.")
    else:
        done = _("“%(name)s” saved. Leads keep the live version until you publish the draft.")
    messages.success(request, done % {"name": saved.name})
    return redirect("cadence_detail", pk=saved.pk)


@manage_cadences
@require_http_methods(["GET", "POST"])
def cadence_new(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@manage_cadences
@require_http_methods(["GET", "POST"])
def cadence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, _cadence_or_404(pk))


# --- One cadence ----------------------------------------------------------------------------


def _draft_rows(cadence: Cadence) -> list[dict[str, Any]]:
    return _their_steps(cadence, selectors.step_templates())


def _filters_query(data: Any) -> str:
    """The enrollment filters of the page the user came from, and nothing else."""
    keep = {k: data.get(k, "") for k in ("status", "outcome", "rep", "before")}
    return urlencode({k: v[:40] for k, v in keep.items() if v})


def _detail_url(cadence: Cadence, query: str = "") -> str:
    url = reverse("cadence_detail", args=[cadence.pk])
    return f"{url}?{query}#enrollments" if query else url


def _detail_page(
    request: HttpRequest,
    cadence: Cadence,
    *,
    enroll_form: EnrollForm | None = None,
    segment_form: SegmentEnrollForm | None = None,
    status: int = 200,
) -> HttpResponse:
    reps = selectors.rep_choices()
    all_segments = _all_segments()
    filters = EnrollmentFilterForm(request.GET, reps=reps)
    filters.is_valid()  # a filter that is not understood is left out, the page still shows
    chosen = {k: filters.cleaned_data.get(k) for k in ("status", "outcome", "rep", "before")}
    enrollments, next_before = selectors.enrollment_page(
        cadence=cadence,
        status=chosen["status"] or "",
        outcome=chosen["outcome"] or "",
        rep=chosen["rep"] or "",
        before=chosen["before"],
        limit=selectors.ENROLLMENT_PAGE,
    )
    steps = selectors.cadence_live_steps(cadence)
    draft_changed = cadence.draft_steps != selectors.steps_as_draft(steps)
    base = {k: v for k, v in chosen.items() if v and k != "before"}
    return render(
        request,
        "cadences/cadences/detail.html",
        {
            "cadence": cadence,
            "steps": steps,
            "draft_changed": draft_changed,
            "draft_rows": _draft_rows(cadence) if draft_changed else [],
            "versions": selectors.cadence_versions(cadence),
            "counts": selectors.enrollment_counts(cadence),
            "filters": filters,
            "filtered": bool(base),
            "enrollments": enrollments,
            "next_query": urlencode({**base, "before": next_before}) if next_before else "",
            "newest_query": urlencode(base) if chosen["before"] else None,
            "back": urlencode(
                {**base, **({"before": chosen["before"]} if chosen["before"] else {})}
            ),
            "enroll_form": enroll_form or EnrollForm(reps=reps),
            "segment_form": segment_form or SegmentEnrollForm(segments=all_segments),
            "has_segments": bool(all_segments),
            "rules": _rules_text(cadence),
        },
        status=status,
    )


def _rules_text(cadence: Cadence) -> list[str]:
    rules = cadence.rules or {}
    parts = []
    if rules.get("sources"):
        parts.append(_("from %(list)s") % {"list": ", ".join(rules["sources"])})
    if rules.get("countries"):
        parts.append(_("in %(list)s") % {"list": ", ".join(rules["countries"])})
    if rules.get("personas") or rules.get("segments"):
        names = selectors.segment_names([*rules.get("personas", []), *rules.get("segments", [])])
        if rules.get("personas"):
            parts.append(
                _("matching the persona %(list)s")
                % {"list": _(" or ").join(names.get(p, f"#{p}") for p in rules["personas"])}
            )
        if rules.get("segments"):
            parts.append(
                _("in the segment %(list)s")
                % {"list": _(" or ").join(names.get(s, f"#{s}") for s in rules["segments"])}
            )
    if "min_score" in rules:
        parts.append(_("with a score of at least %(n)s") % {"n": rules["min_score"]})
    return parts


@manage_cadences
@require_GET
def cadence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _cadence_or_404(pk))


@manage_cadences
@require_POST
def cadence_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    cadence = _cadence_or_404(pk)
    steps = selectors.cadence_live_steps(cadence)
    if cadence.live_id and cadence.draft_steps == selectors.steps_as_draft(steps):
        messages.info(request, _("Nothing to publish: the draft is the live version."))
        return redirect("cadence_detail", pk=pk)
    try:
        version = cadence_publish(cadence=cadence, actor=request.user)
    except ValidationError as error:
        messages.error(
            request,
            _("The draft cannot be published yet: %(why)s Edit it and save again.")
            % {"why": " ".join(error.messages)},
        )
        return redirect("cadence_detail", pk=pk)
    messages.success(
        request,
        _(
            "Published as version %(n)s: new MQLs that match enter it now; leads already on "
            "it stay on the version they started with."
        )
        % {"n": version.number},
    )
    return redirect("cadence_detail", pk=pk)


def _status_message(cadence: Cadence) -> str:
    if cadence.status == Cadence.Status.ACTIVE:
        return _("“%(name)s” is active: new MQLs that match its rules enter it.")
    if cadence.status == Cadence.Status.PAUSED:
        return _(
            "“%(name)s” is paused: no new MQLs enter it. Leads already on it go on with their "
            "steps; pause or stop them below if they should wait too."
        )
    return _(
        "“%(name)s” is archived: no new MQLs enter it. Leads already on it go on until they "
        "end; stop them below if they should not."
    )


@manage_cadences
@require_POST
def cadence_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate, pause or archive."""
    cadence = _cadence_or_404(pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A cadence can be active, paused or archived."))
        return _detail_page(request, cadence, status=400)
    try:
        cadence_set_status(cadence=cadence, status=form.cleaned_data["status"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _status_message(cadence) % {"name": cadence.name})
    return redirect("cadence_detail", pk=pk)


# --- Enrollments ----------------------------------------------------------------------------


@manage_cadences
@require_POST
def enrollment_action(request: HttpRequest, pk: int, enrollment: int) -> HttpResponse:
    """Stop, pause or resume one lead on the cadence; back to the same filtered page."""
    cadence = _cadence_or_404(pk)
    row = selectors.enrollment_get(cadence=cadence, pk=enrollment)
    if row is None:
        raise Http404(_("No such lead on this cadence."))
    form = EnrollmentActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose stop, pause or resume."))
        return _detail_page(request, cadence, status=400)
    action = form.cleaned_data["action"]
    name = row.contact.display_name
    try:
        if action == "stop":
            enrollment_stop(
                enrollment=row,
                note=_("stopped by %(who)s") % {"who": request.user.get_username()},
            )
            done = _("%(name)s is off the cadence: no further steps.")
        elif action == "pause":
            enrollment_pause(enrollment=row)
            done = _("%(name)s is paused: no steps until you resume.")
        else:
            enrollment_resume(enrollment=row)
            done = _("%(name)s is back on the cadence: the current step is due again.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done % {"name": name})
    back = _filters_query(QueryDict(form.cleaned_data["back"]))
    return redirect(_detail_url(cadence, back))


@manage_cadences
@require_POST
def cadence_enroll(request: HttpRequest, pk: int) -> HttpResponse:
    """Put one contact on this cadence by hand."""
    cadence = _cadence_or_404(pk)
    form = EnrollForm(request.POST, reps=selectors.rep_choices())
    if not form.is_valid():
        return _detail_page(request, cadence, enroll_form=form)
    problem = _enroll_refusal(cadence)
    if problem:
        form.add_error(None, problem)
        return _detail_page(request, cadence, enroll_form=form)
    contact = selectors.contact_find(form.cleaned_data["contact"])
    if contact is None:
        form.add_error(
            "contact",
            _("No contact with the number or e-mail “%(q)s”.")
            % {"q": form.cleaned_data["contact"][:100]},
        )
        return _detail_page(request, cadence, enroll_form=form)
    current = selectors.open_enrollment(contact)
    if current is not None:
        form.add_error(
            "contact",
            _(
                "%(name)s is already on the cadence “%(cadence)s” (a lead is on one cadence "
                "at a time): stop that enrollment first."
            )
            % {"name": contact.display_name, "cadence": current.cadence.name},
        )
        return _detail_page(request, cadence, enroll_form=form)
    rep = selectors.rep_get(int(form.cleaned_data["rep"])) if form.cleaned_data["rep"] else None
    now = timezone.now()
    started = enrollment_start(
        contact=contact,
        key=f"manual:{cadence.pk}:{contact.pk}:{now.timestamp()}",
        cadence=cadence,
        rep=rep,
        now=now,
    )
    if started is None:
        form.add_error(
            "contact",
            _("%(name)s could not be enrolled: the contact is already on a cadence.")
            % {"name": contact.display_name},
        )
        return _detail_page(request, cadence, enroll_form=form)
    who = str(started.rep) if started.rep_id else _("the shared pool")
    messages.success(
        request,
        _("%(name)s is on “%(cadence)s”, assigned to %(who)s; the first step is due now.")
        % {"name": contact.display_name, "cadence": cadence.name, "who": who},
    )
    return redirect("cadence_detail", pk=pk)


def _enroll_refusal(cadence: Cadence) -> str:
    if cadence.live_id is None:
        return _("Publish the cadence before enrolling leads.")
    if cadence.status != Cadence.Status.ACTIVE:
        return _("The cadence is %(status)s: activate it before enrolling leads.") % {
            "status": cadence.get_status_display()
        }
    return ""


@manage_cadences
@require_POST
def cadence_enroll_segment(request: HttpRequest, pk: int) -> HttpResponse:
    """Put the members of a segment on this cadence, those on no cadence now."""
    cadence = _cadence_or_404(pk)
    choices = _all_segments()
    form = SegmentEnrollForm(request.POST, segments=choices)
    if not form.is_valid():
        return _detail_page(request, cadence, segment_form=form)
    problem = _enroll_refusal(cadence)
    if problem:
        form.add_error(None, problem)
        return _detail_page(request, cadence, segment_form=form)
    segment_id = int(form.cleaned_data["segment"])
    name = dict(choices).get(str(segment_id), "")
    try:
        started = enrollments_start_for_segment(segment_id=segment_id, cadence=cadence)
    except ValidationError as error:
        form.add_error(None, " ".join(error.messages))
        return _detail_page(request, cadence, segment_form=form)
    messages.success(
        request,
        ngettext(
            "%(n)d lead from “%(segment)s” enrolled. Members already on a cadence stay where "
            "they are.",
            "%(n)d leads from “%(segment)s” enrolled. Members already on a cadence stay where "
            "they are.",
            started,
        )
        % {"n": started, "segment": name},
    )
    return redirect("cadence_detail", pk=pk)


# --- Reps and teams -------------------------------------------------------------------------


@manage_cadences
@require_GET
def rep_list(request: HttpRequest) -> HttpResponse:
    reps = selectors.rep_rows()
    for rep in reps:
        rep.days_text = _days_text(list(rep.work_days) or [0, 1, 2, 3, 4])  # type: ignore[attr-defined]
    teams = list(selectors.team_list())
    for team in teams:
        team.days_text = _days_text(team.business_days)  # type: ignore[attr-defined]
    return render(
        request,
        "cadences/cadences/reps.html",
        {
            "reps": reps,
            "teams": teams,
            "candidates": selectors.rep_candidates().exists(),
            "sla": selectors.sla_current(),
        },
    )


def _rep_page(request: HttpRequest, rep: Rep | None) -> HttpResponse:
    users = selectors.rep_candidates() if rep is None else None
    context: dict[str, Any] = {
        "rep": rep,
        "no_candidates": users is not None and not users.exists(),
    }
    if request.method != "POST":
        context["form"] = RepForm(initial=RepForm.initial_for(rep) if rep else None, users=users)
        return render(request, "cadences/cadences/rep_form.html", context)
    form = RepForm(request.POST, users=users)
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = rep_save(
                rep=rep,
                user=data.get("user"),
                team=data["team"],
                territory=split_list(data["territory"]),
                works_from=data["works_from"],
                works_until=data["works_until"],
                work_days=data["work_days"],
                capacity=data["capacity"],
                away=data["away"],
            )
        except ValidationError as error:
            apply_errors(error, form)
        else:
            messages.success(request, _("%(name)s saved.") % {"name": saved})
            return redirect("cadence_reps")
    context["form"] = form
    return render(request, "cadences/cadences/rep_form.html", context)


@manage_cadences
@require_http_methods(["GET", "POST"])
def rep_new(request: HttpRequest) -> HttpResponse:
    return _rep_page(request, None)


@manage_cadences
@require_http_methods(["GET", "POST"])
def rep_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rep = selectors.rep_get(pk)
    if rep is None:
        raise Http404(_("No rep with this number."))
    return _rep_page(request, rep)


def _team_page(request: HttpRequest, team: Team | None) -> HttpResponse:
    context: dict[str, Any] = {"team": team, "time_zones": TIME_ZONES}
    if request.method != "POST":
        context["form"] = TeamForm(initial=TeamForm.initial_for(team) if team else None)
        return render(request, "cadences/cadences/team_form.html", context)
    form = TeamForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = team_save(
                team=team,
                name=data["name"],
                time_zone=data["time_zone"],
                opens=data["opens"],
                closes=data["closes"],
                days=data["days"],
            )
        except ValidationError as error:
            apply_errors(error, form)
        except IntegrityError:  # the same name saved twice at once
            form.add_error("name", _("Another team has this name."))
        else:
            messages.success(request, _("Team “%(name)s” saved.") % {"name": saved.name})
            return redirect("cadence_reps")
    context["form"] = form
    return render(request, "cadences/cadences/team_form.html", context)


@manage_cadences
@require_http_methods(["GET", "POST"])
def team_new(request: HttpRequest) -> HttpResponse:
    return _team_page(request, None)


@manage_cadences
@require_http_methods(["GET", "POST"])
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = selectors.team_get(pk)
    if team is None:
        raise Http404(_("No team with this number."))
    return _team_page(request, team)


# --- The SLA --------------------------------------------------------------------------------


@manage_cadences
@require_http_methods(["GET", "POST"])
def sla_edit(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = SlaForm(initial=SlaForm.initial_for(selectors.sla_current()))
        return render(request, "cadences/cadences/sla.html", {"form": form})
    form = SlaForm(request.POST)
    if form.is_valid():
        try:
            sla_policy_save(**form.cleaned_data)
        except ValidationError as error:
            apply_errors(error, form)
        else:
            messages.success(
                request,
                _("SLA saved. It applies to leads that qualify from now on."),
            )
            return redirect("cadence_sla")
    return render(request, "cadences/cadences/sla.html", {"form": form})
