"""Dry run: replay the last days of real data through a draft, before publishing, and show
who would have received what and when. Nothing is written and nothing is sent.

The replay follows each entering contact along the graph on a simulated clock: waits add
time, wait-until follows the contact's clock, a wait for an event looks for that event in
the contact's real history, a goal event ends the path. Messages go through the same
consent, quiet-hours and frequency-cap rules as real sends (with the contact's consent as
it is now, and the caps counting the messages of this replay). Conditions read the
contact as it is now: the replay says so in its notes."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from automations.journeys.graph import Graph, graph_check
from automations.journeys.nodes import next_local_time
from automations.limiter import DAY, WEEK, consent_verdict, contact_zone, policy, quiet_hours_end
from automations.models import Journey, MessageTemplate
from automations.models.delivery import Channel, Purpose
from leads.models import Consent, Contact, Event, SegmentMembership, StageChange
from leads.services.scoring_conditions import conditions_match

MAX_CONTACTS = 500
MAX_NODES_PER_PATH = 100


@dataclass
class Moment:
    at: datetime
    node: str
    what: str
    message: bool = False
    held: str = ""  # why a message would have waited or not gone


@dataclass
class Path:
    contact: Contact
    entered_at: datetime
    moments: list[Moment] = field(default_factory=list)
    outcome: str = ""


@dataclass
class DryRun:
    days: int
    paths: list[Path]
    entered: int
    truncated: bool
    per_node: Counter[str]
    messages: int
    held: Counter[str]
    problems: list[tuple[str, str]]


def _bucket(contact_id: int, node_id: str) -> int:
    return (
        int.from_bytes(hashlib.sha256(f"dry:{contact_id}:{node_id}".encode()).digest()[:4], "big")
        % 100
    )


def _entries(graph: Graph, since: datetime, now: datetime) -> list[tuple[int, datetime]]:
    trigger = graph.node(graph.trigger)["config"]
    kind = trigger["kind"]
    if kind == "event":
        rows = Event.objects.filter(
            name=trigger["event"], occurred_at__gte=since, occurred_at__lte=now
        ).order_by("occurred_at")
        return [
            (e.contact_id, e.occurred_at)
            for e in rows.only("contact_id", "occurred_at", "properties")[: MAX_CONTACTS * 20]
            if conditions_match(
                trigger.get("conditions") or [], kind="behaviour", properties=e.properties
            )
        ]
    if kind == "stage_changed":
        changes = StageChange.objects.filter(to_stage=trigger["stage"], at__gte=since).order_by(
            "at"
        )
        return list(changes.values_list("contact_id", "at")[: MAX_CONTACTS * 20])
    if kind in ("segment_entered", "segment_exited"):
        column = "entered_at" if kind == "segment_entered" else "exited_at"
        stays = SegmentMembership.objects.filter(
            segment_id=trigger["segment"], **{f"{column}__gte": since}
        ).order_by(column)
        return list(stays.values_list("contact_id", column)[: MAX_CONTACTS * 20])
    return []


class _Caps:
    """Marketing and sales sends of this replay, per contact and channel."""

    def __init__(self) -> None:
        self.sent: dict[tuple[int, str], list[datetime]] = defaultdict(list)

    def next_slot(
        self, contact_id: int, channel: str, at: datetime, per_day: int, per_week: int
    ) -> datetime:
        times = sorted(self.sent[(contact_id, channel)])
        for _attempt in range(50):
            day = [t for t in times if at - DAY < t <= at]
            week = [t for t in times if at - WEEK < t <= at]
            if len(day) >= per_day and per_day:
                at = sorted(day)[-per_day] + DAY
            elif len(week) >= per_week and per_week:
                at = sorted(week)[-per_week] + WEEK
            else:
                return at
        return at

    def add(self, contact_id: int, channel: str, at: datetime) -> None:
        self.sent[(contact_id, channel)].append(at)


def journey_dry_run(*, journey: Journey, days: int = 7, now: datetime | None = None) -> DryRun:
    now = now or timezone.now()
    graph, problems = graph_check(journey.draft)
    if graph is None:
        return DryRun(
            days, [], 0, False, Counter(), 0, Counter(), [(p.node, p.message) for p in problems]
        )
    since = now - timedelta(days=days)
    entries: list[tuple[int, datetime]] = []
    seen: set[int] = set()
    for contact_id, at in _entries(graph, since, now):
        if contact_id in seen and journey.reentry == Journey.Reentry.ONCE:
            continue
        seen.add(contact_id)
        entries.append((contact_id, at))
    truncated = len(entries) > MAX_CONTACTS
    entries = entries[:MAX_CONTACTS]
    contacts = Contact.objects.in_bulk([c for c, _at in entries])
    consents: dict[int, dict[str, str]] = defaultdict(dict)
    for contact_id, channel, status in Consent.objects.filter(
        contact_id__in=list(contacts)
    ).values_list("contact_id", "channel", "status"):
        consents[contact_id][channel] = status
    history: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for contact_id, name, at in (
        Event.objects.filter(contact_id__in=list(contacts), occurred_at__gte=since)
        .order_by("occurred_at")
        .values_list("contact_id", "name", "occurred_at")
    ):
        history[contact_id].append((name, at))
    templates = MessageTemplate.objects.in_bulk(
        [n["config"].get("template") for n in graph.nodes.values() if n["config"].get("template")]
    )
    goals = {graph.node(g)["config"]["event"] for g in graph.goals}
    rules, caps = policy(), _Caps()
    paths = []
    for contact_id, entered_at in entries:
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        paths.append(
            _walk(
                graph,
                contact,
                entered_at,
                now,
                history[contact_id],
                consents[contact_id],
                templates,
                goals,
                rules,
                caps,
            )
        )
    per_node: Counter[str] = Counter()
    held: Counter[str] = Counter()
    messages = 0
    for path in paths:
        for moment in path.moments:
            per_node[moment.node] += 1
            if moment.message and not moment.held:
                messages += 1
            elif moment.held:
                held[moment.held] += 1
    return DryRun(days, paths, len(entries), truncated, per_node, messages, held, [])


def _walk(
    graph: Graph,
    contact: Contact,
    at: datetime,
    now: datetime,
    history: list[tuple[str, datetime]],
    consents: dict[str, str],
    templates: dict[int, MessageTemplate],
    goals: set[str],
    rules: Any,
    caps: _Caps,
) -> Path:
    path = Path(contact, at)
    zone = contact_zone(contact.time_zone, rules.default_time_zone)
    node_id: str | None = graph.next(graph.trigger)
    entered = at
    for _step in range(MAX_NODES_PER_PATH):
        if node_id is None:
            path.outcome = _("finished")
            break
        if at > now:
            path.outcome = _("would still be on its way")
            break
        if any(name in goals and entered < when <= at for name, when in history):
            path.outcome = _("reached the goal")
            break
        node = graph.node(node_id)
        kind, config = node["type"], node["config"]
        branch = "next"
        if kind == "wait":
            at += timedelta(days=config["days"], hours=config["hours"], minutes=config["minutes"])
            path.moments.append(Moment(at, node_id, _("waits")))
        elif kind == "wait_until":
            hour, minute = (int(p) for p in config["time"].split(":"))
            at = next_local_time(at, zone, time(hour, minute), config["weekdays"])
            path.moments.append(Moment(at, node_id, _("waits until %(t)s") % {"t": config["time"]}))
        elif kind == "wait_event":
            deadline = at + timedelta(hours=config["hours"])
            came = next(
                (
                    when
                    for name, when in history
                    if name == config["event"] and at < when <= deadline
                ),
                None,
            )
            if came is not None:
                at, branch = came, "event"
                path.moments.append(Moment(at, node_id, _("did %(e)s") % {"e": config["event"]}))
            else:
                at, branch = deadline, "timeout"
                path.moments.append(
                    Moment(at, node_id, _("did not do %(e)s") % {"e": config["event"]})
                )
        elif kind == "condition":
            branch = "yes" if _holds(config, contact, consents, history, at) else "no"
            path.moments.append(Moment(at, node_id, _("condition: %(b)s") % {"b": branch}))
        elif kind == "split":
            bucket, edge = _bucket(contact.pk, node_id), 0
            for option in config["branches"]:
                edge += option["percent"]
                if bucket < edge:
                    branch = option["key"]
                    break
            path.moments.append(Moment(at, node_id, _("path %(b)s") % {"b": branch}))
        elif kind in ("send_email", "send_sms"):
            path.moments.append(
                _message(node_id, kind, config, contact, at, zone, consents, templates, rules, caps)
            )
        elif kind == "exit":
            path.outcome = _("left at an exit")
            break
        else:
            path.moments.append(Moment(at, node_id, str(_label(kind))))
        node_id = graph.next(node_id, branch)
    return path


def _label(kind: str) -> str:
    from automations.journeys.graph import KINDS

    return str(KINDS[kind].label)


def _holds(
    config: dict[str, Any],
    contact: Contact,
    consents: dict[str, str],
    history: list[tuple[str, datetime]],
    at: datetime,
) -> bool:
    kind = config["kind"]
    if kind == "property":
        return conditions_match(config["conditions"], kind="fit", contact=contact)
    if kind == "event":
        since = at - timedelta(days=config["days"])
        return (
            sum(1 for name, when in history if name == config["event"] and since < when <= at)
            >= config["count"]
        )
    if kind == "consent":
        return consents.get(config["channel"]) == Consent.Status.GRANTED
    if kind == "stage":
        return contact.lifecycle_stage in config["stages"]
    return SegmentMembership.objects.filter(
        segment_id=config["segment"], contact_id=contact.pk, exited_at__isnull=True
    ).exists()


def _message(
    node_id: str,
    kind: str,
    config: dict[str, Any],
    contact: Contact,
    at: datetime,
    zone: Any,
    consents: dict[str, str],
    templates: dict[int, MessageTemplate],
    rules: Any,
    caps: _Caps,
) -> Moment:
    channel = Channel.EMAIL if kind == "send_email" else Channel.SMS
    template = templates.get(config["template"])
    purpose = template.purpose if template else Purpose.MARKETING
    name = template.name if template else "?"
    address = contact.email if channel == Channel.EMAIL else contact.phone
    if not address:
        return Moment(at, node_id, name, message=True, held=_("no address"))
    refused = consent_verdict(channel, purpose, consents.get(channel))
    if refused:
        return Moment(at, node_id, name, message=True, held=_("no consent"))
    when = at
    if purpose != Purpose.TRANSACTIONAL:
        opens = quiet_hours_end(when, zone, rules)
        when = opens or when
        per_day, per_week = (
            (rules.email_per_day, rules.email_per_week)
            if channel == Channel.EMAIL
            else (rules.sms_per_day, rules.sms_per_week)
        )
        when = caps.next_slot(contact.pk, channel, when, per_day, per_week)
        when = quiet_hours_end(when, zone, rules) or when
        caps.add(contact.pk, channel, when)
    what = _("%(name)s at %(time)s") % {
        "name": name,
        "time": date_format(when.astimezone(zone), "D H:i T"),  # weekday in the UI language
    }
    if when != at:
        what += " " + _("(held back by quiet hours or a frequency cap)")
    return Moment(when, node_id, what, message=True)
