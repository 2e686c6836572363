"""What each kind of node does to a run. An executor returns a Step: the branch taken, or
a time to wait until, or a failure; it never sleeps and never sends directly (messages
become deliveries, keyed by run and node, so a retried step sends nothing twice)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection
from django.template import Context
from django.utils.translation import gettext as _

from automations.journeys.graph import NEXT, Graph
from automations.limiter import contact_zone, policy
from automations.models import JourneyRun, MessageTemplate, RunStep
from automations.models.delivery import Channel, Purpose
from automations.rendering import TemplateProblem, message_for
from automations.services.deliveries import delivery_schedule
from leads.models import (
    Consent,
    Contact,
    LifecycleStage,
    Segment,
    SegmentMembership,
    StageChange,
)
from leads.services.scoring_conditions import conditions_match

Outcome = RunStep.Outcome


@dataclass(frozen=True)
class Step:
    outcome: str = Outcome.PASSED
    branch: str = NEXT
    detail: str = ""
    wait_until: datetime | None = None  # wait, then process `next_node` (or this node)
    next_node: str | None = None
    waiting_for: str = ""  # an event name that ends the wait early
    end: bool = False


def _failed(detail: str) -> Step:
    return Step(outcome=Outcome.FAILED, detail=detail)


Executor = Callable[[JourneyRun, dict[str, Any], Graph, datetime], Step]
_executors: dict[str, Executor] = {}


def executes(*kinds: str) -> Callable[[Executor], Executor]:
    def register(function: Executor) -> Executor:
        for kind in kinds:
            _executors[kind] = function
        return function

    return register


def runnable(kind: str) -> bool:
    return kind in _executors


def node_execute(
    run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime, branch: str | None
) -> Step:
    if branch is not None:  # a wait answered from outside (the awaited event came)
        run.waiting_for = ""
        return Step(branch=branch, detail=_("the event came"))
    executor = _executors.get(node["type"])
    if executor is None:
        return _failed(_("This kind of node cannot run yet: %(kind)s.") % {"kind": node["type"]})
    return executor(run, node, graph, now)


# --- Flow ------------------------------------------------------------------------------------


@executes("trigger")
def _trigger(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    return Step()


@executes("exit")
def _exit(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    return Step(end=True)


@executes("wait")
def _wait(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    c = node["config"]
    span = timedelta(days=c["days"], hours=c["hours"], minutes=c["minutes"])
    following = graph.next(node["id"])
    if following is None:
        return Step(end=True)
    return Step(wait_until=now + span, next_node=following, outcome=Outcome.WAITING)


def next_local_time(now: datetime, zone: Any, at: time, weekdays: list[int]) -> datetime:
    """The next moment after `now` that is `at` on one of `weekdays` on the contact's
    clock. Built from the local date and wall time, so DST shifts keep "9:00" at 9:00."""
    local = now.astimezone(zone)
    for days in range(0, 8):
        day = local.date() + timedelta(days=days)
        if day.weekday() not in weekdays:
            continue
        candidate = datetime.combine(day, at, tzinfo=zone)
        if candidate > now:
            return candidate
    raise ValueError("no weekday chosen")


@executes("wait_until")
def _wait_until(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    c = node["config"]
    hour, minute = (int(p) for p in c["time"].split(":"))
    zone = contact_zone(run.contact.time_zone, policy().default_time_zone)
    following = graph.next(node["id"])
    if following is None:
        return Step(end=True)
    when = next_local_time(now, zone, time(hour, minute), c["weekdays"])
    return Step(wait_until=when, next_node=following, outcome=Outcome.WAITING)


@executes("wait_event")
def _wait_event(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    c = node["config"]
    if run.waiting_for:  # due_at passed without the event: the timeout path
        run.waiting_for = ""
        return Step(branch="timeout", detail=_("timed out"))
    return Step(
        wait_until=now + timedelta(hours=c["hours"]),
        next_node=node["id"],
        waiting_for=c["event"],
        outcome=Outcome.WAITING,
    )


def _scalar(sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


@executes("condition")
def _condition(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    c, contact = node["config"], run.contact
    kind = c["kind"]
    if kind == "property":
        holds = conditions_match(c["conditions"], kind="fit", contact=contact)
    elif kind == "event":
        count = _scalar(
            "SELECT count(*) FROM leads_event WHERE contact_id = %s AND name = %s"
            " AND occurred_at > %s",
            [contact.pk, c["event"], now - timedelta(days=c["days"])],
        )
        holds = count >= c["count"]
    elif kind == "segment":
        holds = bool(
            _scalar(
                "SELECT 1 FROM leads_segmentmembership WHERE segment_id = %s AND contact_id = %s"
                " AND exited_at IS NULL",
                [c["segment"], contact.pk],
            )
        )
    elif kind == "consent":
        holds = Consent.objects.filter(
            contact=contact, channel=c["channel"], status=Consent.Status.GRANTED
        ).exists()
    else:
        holds = contact.lifecycle_stage in c["stages"]
    return Step(branch="yes" if holds else "no")


@executes("split")
def _split(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    from automations.journeys.engine import split_bucket

    bucket, edge = split_bucket(run.pk, node["id"]), 0
    for branch in node["config"]["branches"]:
        edge += branch["percent"]
        if bucket < edge:
            return Step(branch=branch["key"])
    return Step(branch=node["config"]["branches"][-1]["key"])


# --- Actions ---------------------------------------------------------------------------------


def _send(
    run: JourneyRun,
    node: dict[str, Any],
    now: datetime,
    channel: str | None,
    extra: dict[str, Any] | None = None,
) -> Step:
    template = MessageTemplate.objects.filter(pk=node["config"]["template"]).first()
    if template is None:
        return _failed(_("The message template was deleted."))
    channel = channel or template.channel
    contact: Contact = run.contact
    try:
        rendered = message_for(
            template, contact, discount_code=(run.data or {}).get("discount_code", ""), extra=extra
        )
    except TemplateProblem as problem:
        # This contact's data broke the template: this run fails, the others go on.
        return _failed(
            _("“%(name)s” could not be written for this contact: %(problem)s")
            % {"name": template.name, "problem": problem.message}
        )
    due = now
    if node["config"].get("best_time"):
        due = _best_time(contact, now)
    delivery = delivery_schedule(
        key=f"journey:{run.pk}:{node['id']}",
        contact=contact,
        channel=channel,
        purpose=template.purpose if template.purpose else Purpose.MARKETING,
        due_at=due,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        origin="journey",
        template=template,
        journey_id=run.journey_id,
        tags=[f"journey-{run.journey_id}"],
    )
    return Step(detail=_("delivery %(id)s") % {"id": delivery.pk})


def _best_time(contact: Contact, now: datetime) -> datetime:
    from automations.send_time import next_best_time

    return next_best_time(contact, now)


@executes("send_email")
def _send_email(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    return _send(run, node, now, Channel.EMAIL)


@executes("send_sms")
def _send_sms(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    return _send(run, node, now, Channel.SMS)


@executes("update_property")
def _update_property(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    c, contact = node["config"], run.contact
    props = dict(contact.properties or {})
    if c["tag"]:
        tags = list(props.get("tags") or [])
        if c["property"] not in tags:
            tags.append(c["property"])
        props["tags"] = tags
    else:
        props[c["property"]] = c["value"]
    Contact.objects.filter(pk=contact.pk).update(properties=props)
    contact.properties = props
    return Step()


@executes("change_stage")
def _change_stage(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    from leads.services.lifecycle import stage_change

    stage = node["config"]["stage"]
    stage_change(
        contact=run.contact,
        to_stage=stage,
        cause_kind=StageChange.Cause.AUTOMATION,
        detail=_("journey “%(name)s”") % {"name": run.journey.name},
    )
    detail = _("now %(stage)s") % {"stage": LifecycleStage(stage).label}
    return Step(detail=detail)


@executes("list_add", "list_remove")
def _list(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    from leads.services.segments import static_list_add, static_list_remove

    segment = Segment.objects.filter(pk=node["config"]["segment"]).first()
    if segment is None:
        return _failed(_("The list was deleted."))
    if node["type"] == "list_add":
        static_list_add(
            segment=segment, contact_ids=[run.contact_id], via=SegmentMembership.Via.AUTOMATION
        )
    else:
        static_list_remove(segment=segment, contact_ids=[run.contact_id])
    return Step()


@executes("send_survey")
def _send_survey(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    from automations.models import Survey
    from automations.services.surveys import survey_link, survey_score_links

    survey = Survey.objects.filter(pk=node["config"]["survey"], active=True).first()
    if survey is None:
        return _failed(_("The survey was deleted or closed."))
    key = f"journey:{run.pk}:{node['id']}"
    extra = {
        "survey_url": survey_link(survey=survey, contact=run.contact, key=key),
        "survey_scores": survey_score_links(survey=survey, contact=run.contact, key=key),
    }
    return _send(run, node, now, None, extra)


@executes("issue_code")
def _issue_code(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    from automations.models import DiscountCampaign
    from automations.services.codes import CodePoolEmpty, code_issue

    campaign = DiscountCampaign.objects.filter(pk=node["config"]["campaign"]).first()
    if campaign is None:
        return _failed(_("The discount campaign was deleted."))
    try:
        code = code_issue(
            campaign=campaign, contact=run.contact, key=f"journey:{run.pk}:{node['id']}"
        )
    except CodePoolEmpty as empty:
        return _failed("; ".join(empty.messages))
    # Later messages of this run show it as {{ discount_code }}.
    run.data = {**(run.data or {}), "discount_code": code.code}
    return Step(detail=code.code)


@executes("create_task")
def _create_task(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    from automations.rendering import template_compile
    from automations.services.inbox import task_create
    from growth.roles import Role

    config, contact = node["config"], run.contact
    context = {
        "contact": {"name": contact.display_name, "email": contact.email, "phone": contact.phone}
    }
    try:
        title = template_compile(config["title"], html=False).render(
            Context(context, autoescape=False)
        )
        body = template_compile(config["body"], html=False).render(
            Context(context, autoescape=False)
        )
    except TemplateProblem:
        title, body = config["title"], config["body"]
    task = task_create(
        key=f"journey:{run.pk}:{node['id']}",
        title=title.strip()[:200] or config["title"],
        body=body,
        contact=contact,
        role=config["role"] or Role.SALES_MANAGER,
        origin="journey",
    )
    return Step(detail=_("task %(id)s") % {"id": task.pk})


@executes("webhook")
def _webhook(run: JourneyRun, node: dict[str, Any], graph: Graph, now: datetime) -> Step:
    import json

    contact = run.contact
    payload = {
        "event": "journey.step",
        "journey": {"id": run.journey_id, "name": run.journey.name, "version": run.version.number},
        "run": run.pk,
        "node": node["id"],
        "at": now.isoformat(),
        "contact": {
            "id": contact.pk,
            "email": contact.email,
            "phone": contact.phone,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "lifecycle_stage": contact.lifecycle_stage,
            "score": contact.score,
        },
    }
    delivery = delivery_schedule(
        key=f"journey:{run.pk}:{node['id']}",
        contact=contact,
        channel=Channel.WEBHOOK,
        purpose=Purpose.TRANSACTIONAL,
        due_at=now,
        text=json.dumps(payload, sort_keys=True),
        origin="journey",
        to_address=node["config"]["url"],
        journey_id=run.journey_id,
        tags=[f"journey-{run.journey_id}"],
    )
    return Step(detail=_("delivery %(id)s") % {"id": delivery.pk})
