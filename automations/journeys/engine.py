"""Running journeys: publishing a draft, entering contacts when a trigger fires, and moving
each run through its version's graph. A run waits as a row (`due_at`); the dispatcher
claims due runs with SKIP LOCKED and advances each in its own transaction, so a second
beat or a redelivered task cannot move a run twice."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from automations.journeys.graph import Graph, graph_check, graph_load
from automations.models import (
    DiscountCampaign,
    Journey,
    JourneyRun,
    JourneyVersion,
    MessageTemplate,
    RunStep,
    Survey,
)
from growth.edits import EditConflict
from leads.models import Segment

log = logging.getLogger(__name__)

DISPATCH_BATCH = 200
LOST_AFTER = timedelta(minutes=5)
MAX_STEPS = 200  # a run that passes more nodes than this is stuck in a loop: failed
ACTIVE = [JourneyRun.Status.WAITING, JourneyRun.Status.QUEUED]


# --- Graphs of published versions, cached per process (they never change) -------------------

_graphs: dict[int, Graph] = {}


def version_graph(version: JourneyVersion) -> Graph:
    graph = _graphs.get(version.pk)
    if graph is None:
        graph = _graphs[version.pk] = graph_load(version.graph)
    return graph


# --- Drafts and publishing -------------------------------------------------------------------


def journey_draft_save(
    *, journey: Journey, version: int, actor: Any, draft: dict[str, Any]
) -> Journey:
    """Save what the builder drew. Problems do not stop a save (a draft may be half done);
    they stop publishing. The second of two editors gets EditConflict."""
    with transaction.atomic():
        current = Journey.objects.select_for_update().get(pk=journey.pk)
        if current.version != version:
            raise EditConflict(current)
        current.draft = draft
        current.version += 1
        current.updated_by = actor
        current.save(update_fields=["draft", "version", "updated_by", "updated_at"])
    return current


def _references(graph: Graph) -> list[tuple[str, str]]:
    """Problems with what the nodes name: templates of the right channel, segments, lists."""
    problems = []
    templates = {
        t.pk: t.channel
        for t in MessageTemplate.objects.filter(
            pk__in=[n["config"].get("template") for n in graph.nodes.values()]
        )
    }
    segment_ids = {
        n["config"].get("segment") for n in graph.nodes.values() if n["config"].get("segment")
    }
    segments = {s.pk: s.kind for s in Segment.objects.filter(pk__in=segment_ids)}
    from automations.journeys.nodes import runnable

    for node_id, node in graph.nodes.items():
        kind, config = node["type"], node["config"]
        if kind != "goal" and not runnable(kind):
            problems.append((node_id, _("This kind of step is not available yet.")))
        if kind == "send_survey" and not Survey.objects.filter(pk=config["survey"]).exists():
            problems.append((node_id, _("Choose a survey: this one is missing.")))
        if (
            kind == "issue_code"
            and not DiscountCampaign.objects.filter(pk=config["campaign"]).exists()
        ):
            problems.append((node_id, _("Choose a discount campaign: this one is missing.")))
        if kind in ("send_email", "send_sms", "send_survey"):
            channel = templates.get(config["template"])
            if channel is None:
                problems.append((node_id, _("Choose a message template: this one is missing.")))
            elif kind != "send_survey" and channel != ("sms" if kind == "send_sms" else "email"):
                problems.append((node_id, _("This template is for another channel.")))
        segment = config.get("segment")
        if segment and segment not in segments:
            problems.append((node_id, _("The segment or list this names was deleted.")))
        elif kind in ("list_add", "list_remove") and segments.get(segment) != Segment.Kind.STATIC:
            problems.append((node_id, _("Only static lists can be added to or removed from.")))
    return problems


def journey_problems(journey: Journey) -> list[tuple[str, str]]:
    """(node id or "", message) of everything that stops publishing the draft."""
    graph, problems = graph_check(journey.draft)
    found = [(p.node, p.message) for p in problems]
    if graph is not None:
        found.extend(_references(graph))
    return found


@transaction.atomic
def journey_publish(*, journey: Journey, version: int, actor: Any) -> JourneyVersion:
    """Publish the draft as a new immutable version; new entries use it, running contacts
    stay on theirs."""
    current = Journey.objects.select_for_update().get(pk=journey.pk)
    if current.version != version:
        raise EditConflict(current)
    problems = journey_problems(current)
    if problems:
        raise ValidationError([message for _node, message in problems])
    graph = graph_load(current.draft)
    trigger = graph.node(graph.trigger)["config"]
    number = (
        current.versions.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    published = JourneyVersion.objects.create(
        journey=current,
        number=number,
        graph=current.draft,
        trigger_kind=trigger["kind"],
        trigger_event=trigger.get("event", ""),
        trigger_segment_id=trigger.get("segment"),
        trigger_stage=trigger.get("stage", ""),
        published_by=actor,
    )
    current.live = published
    if current.status in (Journey.Status.DRAFT, Journey.Status.ARCHIVED):
        current.status = Journey.Status.ACTIVE
    current.updated_by = actor
    current.save(update_fields=["live", "status", "updated_by", "updated_at"])
    triggers_forget()
    return published


def journey_set_status(*, journey: Journey, status: str, actor: Any) -> Journey:
    """Pause (no new entries, running contacts wait), resume, or archive (every run ends)."""
    if status not in (Journey.Status.ACTIVE, Journey.Status.PAUSED, Journey.Status.ARCHIVED):
        raise ValidationError(_("A journey can be active, paused or archived."))
    if status == Journey.Status.ACTIVE and journey.live_id is None:
        raise ValidationError(_("Publish the journey first."))
    with transaction.atomic():
        Journey.objects.filter(pk=journey.pk).update(
            status=status, updated_by=actor, updated_at=timezone.now()
        )
        if status == Journey.Status.ARCHIVED:
            JourneyRun.objects.filter(journey=journey, status__in=ACTIVE).update(
                status=JourneyRun.Status.EXITED,
                error=_("The journey was archived."),
                ended_at=timezone.now(),
            )
    journey.status = status
    triggers_forget()
    return journey


# --- Which live versions listen to what (cached briefly: checked on every event batch) -----

_TRIGGERS_TTL = 5.0
_triggers: dict[str, Any] = {"at": 0.0, "versions": []}


def triggers_forget() -> None:
    _triggers["at"] = 0.0


def live_versions() -> list[JourneyVersion]:
    """Live versions of active journeys, with their journeys. One query every few seconds."""
    if time.monotonic() - _triggers["at"] > _TRIGGERS_TTL:
        _triggers["versions"] = list(
            JourneyVersion.objects.filter(
                journey__status=Journey.Status.ACTIVE, journey__live_id=F("id")
            ).select_related("journey")
        )
        _triggers["at"] = time.monotonic()
    return _triggers["versions"]


# --- Entering --------------------------------------------------------------------------------


def runs_start(
    *, version: JourneyVersion, entries: Sequence[tuple[int, str]], now: datetime | None = None
) -> int:
    """Start runs for (contact id, entry key) pairs, obeying the audience and re-entry rules.
    Set-based; an entry already made (same key), or a contact already on its way through
    this journey, is skipped. Returns how many runs started."""
    now = now or timezone.now()
    journey = version.journey
    graph = version_graph(version)
    first = graph.next(graph.trigger)
    if first is None or not entries:
        return 0
    ids = sorted({contact_id for contact_id, _key in entries})
    params: dict[str, Any] = {"journey": journey.pk, "ids": ids}
    rules = [
        "NOT EXISTS (SELECT 1 FROM automations_journeyrun a WHERE a.journey_id = %(journey)s"
        " AND a.contact_id = c.id AND a.status IN ('waiting', 'queued'))"
    ]
    if journey.reentry == Journey.Reentry.ONCE:
        rules.append(
            "NOT EXISTS (SELECT 1 FROM automations_journeyrun r"
            " WHERE r.journey_id = %(journey)s AND r.contact_id = c.id)"
        )
    elif journey.reentry == Journey.Reentry.PER_DAYS:
        params["since"] = now - timedelta(days=journey.reentry_days or 1)
        rules.append(
            "NOT EXISTS (SELECT 1 FROM automations_journeyrun r"
            " WHERE r.journey_id = %(journey)s AND r.contact_id = c.id"
            " AND r.started_at > %(since)s)"
        )
    if journey.audience_id:
        params["audience"] = journey.audience_id
        rules.append(
            "EXISTS (SELECT 1 FROM leads_segmentmembership m WHERE m.segment_id ="
            " %(audience)s AND m.contact_id = c.id AND m.exited_at IS NULL)"
        )
    with connection.cursor() as cursor:
        where = " AND ".join(rules)
        cursor.execute(
            "SELECT c.id FROM leads_contact c WHERE c.id = ANY(%(ids)s)"  # noqa: S608 (fixed fragments)
            f" AND c.merged_into_id IS NULL AND c.erased_at IS NULL AND {where}",
            params,
        )
        allowed = {row[0] for row in cursor.fetchall()}
    chosen: dict[int, str] = {}
    for contact_id, key in entries:  # the first entry of each contact in this batch
        if contact_id in allowed:
            chosen.setdefault(contact_id, key)
    if not chosen:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO automations_journeyrun
                (journey_id, version_id, contact_id, entry_key, status, node, due_at,
                 waiting_for, steps, error, started_at, data)
            SELECT %s, %s, contact_id, entry_key, 'waiting', %s, %s, '', 0, '', %s, '{}'::jsonb
            FROM unnest(%s::bigint[], %s::text[]) AS e(contact_id, entry_key)
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            [journey.pk, version.pk, first, now, now, list(chosen), list(chosen.values())],
        )
        started = [row[0] for row in cursor.fetchall()]
        RunStep.objects.bulk_create(
            RunStep(
                run_id=run_id,
                journey_id=journey.pk,
                version_id=version.pk,
                node=graph.trigger,
                outcome=RunStep.Outcome.PASSED,
                at=now,
            )
            for run_id in started
        )
        if started:
            transaction.on_commit(dispatch_soon)
    return len(started)


def dispatch_soon() -> None:
    from automations.tasks import journeys_dispatch_task

    journeys_dispatch_task.delay()


# --- Dispatching and advancing ---------------------------------------------------------------


def runs_dispatch(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> list[int]:
    """Claim due runs and advance each; returns the ids advanced."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE automations_journeyrun r SET status = 'queued'
            WHERE r.id IN (
                SELECT id FROM automations_journeyrun
                WHERE status = 'waiting' AND due_at <= %s
                ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING r.id
            """,
            [now, limit],
        )
        claimed = sorted(row[0] for row in cursor.fetchall())
    for run_id in claimed:
        try:
            run_advance(run_id=run_id, now=now)
        except Exception:  # one broken run must not stop the others
            log.exception("journey run %s failed", run_id)
            JourneyRun.objects.filter(pk=run_id, status=JourneyRun.Status.QUEUED).update(
                status=JourneyRun.Status.FAILED,
                error=_("An unexpected error stopped this run; see the logs."),
                ended_at=timezone.now(),
            )
    return claimed


def runs_requeue_lost(*, now: datetime | None = None) -> int:
    """Runs claimed by a dispatcher that died before advancing them wait again."""
    now = now or timezone.now()
    return JourneyRun.objects.filter(
        status=JourneyRun.Status.QUEUED, due_at__lt=now - LOST_AFTER
    ).update(status=JourneyRun.Status.WAITING)


def run_advance(
    *, run_id: int, now: datetime | None = None, branch: str | None = None
) -> JourneyRun | None:
    """Move one claimed run through its graph until it must wait or its path ends."""
    from automations.journeys.nodes import Step, node_execute

    now = now or timezone.now()
    with transaction.atomic():
        run = (
            JourneyRun.objects.select_for_update(of=("self",))
            .select_related("version", "journey", "contact")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != JourneyRun.Status.QUEUED:
            return None  # handled elsewhere already: exactly one effect
        graph = version_graph(run.version)
        log_rows: list[RunStep] = []
        step: Step | None = None
        while True:
            if run.steps >= MAX_STEPS:
                _end(run, JourneyRun.Status.FAILED, now, _("The run passed too many steps."))
                break
            node = graph.node(run.node)
            step = node_execute(run, node, graph, now, branch)
            branch = None
            run.steps += 1
            log_rows.append(
                RunStep(
                    run=run,
                    journey_id=run.journey_id,
                    version_id=run.version_id,
                    node=run.node,
                    outcome=step.outcome,
                    branch=step.branch,
                    detail=step.detail,
                    at=now,
                )
            )
            if step.outcome == RunStep.Outcome.FAILED:
                _end(run, JourneyRun.Status.FAILED, now, step.detail)
                break
            if step.wait_until is not None:  # stay on step.node until then
                run.status = JourneyRun.Status.WAITING
                run.node = step.next_node or run.node
                run.due_at = step.wait_until
                run.waiting_for = step.waiting_for
                break
            following = (
                graph.next(run.node, step.branch) if step.next_node is None else step.next_node
            )
            if following is None or step.end:
                _end(run, JourneyRun.Status.DONE, now, "")
                break
            run.node = following
        run.save()
        RunStep.objects.bulk_create(log_rows)
    return run


def _end(run: JourneyRun, status: str, now: datetime, error: str) -> None:
    run.status, run.error, run.ended_at, run.waiting_for = status, error, now, ""


# --- Reacting to what contacts do ------------------------------------------------------------


def _event_entries(
    versions: list[JourneyVersion], events: list[dict[str, Any]], now: datetime
) -> None:
    from leads.services.scoring_conditions import conditions_match

    for version in versions:
        trigger = version_graph(version).node(version_graph(version).trigger)["config"]
        entries = [
            (e["contact_id"], f"event:{e['id']}")
            for e in events
            if e["name"] == version.trigger_event
            and conditions_match(
                trigger.get("conditions") or [], kind="behaviour", properties=e["properties"]
            )
        ]
        if entries:
            runs_start(version=version, entries=entries, now=now)


def journeys_on_events(*, event_ids: Iterable[int], now: datetime | None = None) -> None:
    """New events: start the journeys they trigger, wake runs waiting for them, and convert
    runs whose goal they are."""
    from leads.models import Event

    now = now or timezone.now()
    versions = live_versions()
    event_triggers = [v for v in versions if v.trigger_kind == "event"]
    goals = {
        node["config"]["event"]
        for v in versions
        for node in version_graph(v).nodes.values()
        if node["type"] == "goal"
    }
    names = {v.trigger_event for v in event_triggers} | goals
    # Runs of older versions may wait for events too: those names are looked up below.
    events: list[dict[str, Any]] = [
        dict(row)
        for row in Event.objects.filter(pk__in=list(event_ids)).values(
            "id", "contact_id", "name", "properties", "occurred_at"
        )
    ]
    if not events:
        return
    _event_entries(event_triggers, [e for e in events if e["name"] in names], now)
    by_contact: dict[int, set[str]] = {}
    for e in events:
        by_contact.setdefault(e["contact_id"], set()).add(e["name"])
    _goals_reached(by_contact, now)
    _waits_answered(by_contact, now)


def _goals_reached(by_contact: dict[int, set[str]], now: datetime) -> None:
    runs = JourneyRun.objects.filter(
        contact_id__in=list(by_contact), status__in=ACTIVE
    ).select_related("version")
    for run in runs:
        graph = version_graph(run.version)
        goal_events = {graph.node(g)["config"]["event"] for g in graph.goals}
        if goal_events & by_contact[run.contact_id]:
            with transaction.atomic():
                updated = JourneyRun.objects.filter(pk=run.pk, status__in=ACTIVE).update(
                    status=JourneyRun.Status.CONVERTED, ended_at=now, waiting_for=""
                )
                if updated:
                    RunStep.objects.create(
                        run=run,
                        journey_id=run.journey_id,
                        version_id=run.version_id,
                        node=graph.goals[0],
                        outcome=RunStep.Outcome.PASSED,
                        at=now,
                    )


def _waits_answered(by_contact: dict[int, set[str]], now: datetime) -> None:
    waiting = JourneyRun.objects.filter(
        contact_id__in=list(by_contact), status=JourneyRun.Status.WAITING
    ).exclude(waiting_for="")
    for run in waiting:
        if run.waiting_for not in by_contact[run.contact_id]:
            continue
        claimed = JourneyRun.objects.filter(
            pk=run.pk, status=JourneyRun.Status.WAITING, waiting_for=run.waiting_for
        ).update(status=JourneyRun.Status.QUEUED)
        if claimed:
            run_advance(run_id=run.pk, now=now, branch="event")


def journeys_on_segment(*, segment_id: int, contact_ids: Sequence[int], entered: bool) -> None:
    kind = "segment_entered" if entered else "segment_exited"
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    for version in live_versions():
        if version.trigger_kind == kind and version.trigger_segment_id == segment_id:
            runs_start(
                version=version,
                entries=[(c, f"{kind}:{segment_id}:{stamp}") for c in contact_ids],
            )


def journeys_on_stage(*, contact_id: int, to_stage: str, change_id: int) -> None:
    for version in live_versions():
        if version.trigger_kind == "stage_changed" and version.trigger_stage == to_stage:
            runs_start(version=version, entries=[(contact_id, f"stage:{change_id}")])


def journeys_on_survey(*, survey_id: int, contact_id: int, answer_id: int) -> None:
    for version in live_versions():
        graph = version_graph(version)
        trigger = graph.node(graph.trigger)["config"]
        if version.trigger_kind == "survey_answered" and trigger.get("survey") == survey_id:
            runs_start(version=version, entries=[(contact_id, f"survey:{answer_id}")])


# Contacts whose last order was exactly N days ago (on the UTC calendar), or whose birthday
# (a "birthday" property, YYYY-MM-DD or MM-DD) is N days from today.
_DATE_SQL = {
    "days_since_last_order": """
        SELECT o.contact_id FROM leads_order o
        WHERE o.contact_id IS NOT NULL AND o.status <> 'cancelled'
        GROUP BY o.contact_id
        HAVING (max(o.placed_at) AT TIME ZONE 'UTC')::date = %(day)s::date - %(days)s
    """,
    "birthday": """
        SELECT c.id FROM leads_contact c
        WHERE c.properties ? 'birthday' AND c.merged_into_id IS NULL AND c.erased_at IS NULL
          AND right(c.properties->>'birthday', 5) = to_char(%(day)s::date + %(days)s, 'MM-DD')
    """,
}


def journeys_on_dates(*, now: datetime | None = None) -> int:
    """Start the date-triggered journeys for today; run hourly, each contact enters once a
    day (the entry key is the date)."""
    now = now or timezone.now()
    started = 0
    for version in live_versions():
        if version.trigger_kind != "date_property":
            continue
        graph = version_graph(version)
        trigger = graph.node(graph.trigger)["config"]
        with connection.cursor() as cursor:
            cursor.execute(
                _DATE_SQL[trigger["property"]], {"day": now.date(), "days": trigger["days"]}
            )
            ids = [row[0] for row in cursor.fetchall()]
        key = f"date:{now.date().isoformat()}"
        started += runs_start(version=version, entries=[(c, key) for c in ids], now=now)
    return started


def journey_enroll(
    *, journey: Journey, contact_ids: Sequence[int], key: str = "", now: datetime | None = None
) -> int:
    """Manual or API entry into a journey's live version."""
    if journey.live is None or journey.status != Journey.Status.ACTIVE:
        raise ValidationError(_("Only an active, published journey can take contacts."))
    now = now or timezone.now()
    key = key or f"manual:{now.isoformat()}"
    return runs_start(version=journey.live, entries=[(c, key) for c in contact_ids], now=now)


def split_bucket(run_id: int, node_id: str) -> int:
    """0 to 99, fixed per run and node: a retried step takes the same path."""
    digest = hashlib.sha256(f"{run_id}:{node_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100
