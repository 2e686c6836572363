"""cadences listens to the domain signals of leads and automations (sent on commit, ids
only) and hands the work to its workers: a new MQL enters a cadence; a reply, an order, an
SQL, an unsubscribe or a hard bounce ends the enrollment with that outcome."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from automations import signals as automation_signals
from leads import signals

# Stages after MQL end the cadence: the rep's work (or the lead's own behaviour) is done.
QUALIFIED = {"sql", "opportunity"}
BOUGHT = {"customer", "repeat_customer", "vip"}


@receiver(signals.stage_changed)
def _stage_changed(
    sender: Any, contact_id: int, from_stage: str, to_stage: str, change_id: int, **kw: Any
) -> None:
    from cadences.models import Enrollment
    from cadences.tasks import enroll_mql_task, enrollments_end_task

    if to_stage == "mql":
        enroll_mql_task.delay(contact_id, change_id)
    elif to_stage in QUALIFIED:
        enrollments_end_task.delay([contact_id], Enrollment.Outcome.QUALIFIED)
    elif to_stage in BOUGHT:
        enrollments_end_task.delay([contact_id], Enrollment.Outcome.ORDERED)


@receiver(signals.consent_changed)
def _consent_changed(sender: Any, contact_id: int, channel: str, status: str, **kw: Any) -> None:
    from cadences.models import Enrollment
    from cadences.tasks import enrollments_end_task

    if status == "denied":
        enrollments_end_task.delay(
            [contact_id], Enrollment.Outcome.UNSUBSCRIBED, f"opted out of {channel}"
        )


@receiver(automation_signals.reply_received)
def _reply_received(sender: Any, contact_id: int, channel: str, **kw: Any) -> None:
    from cadences.models import Enrollment
    from cadences.tasks import enrollments_end_task

    enrollments_end_task.delay([contact_id], Enrollment.Outcome.REPLIED, f"replied by {channel}")


@receiver(automation_signals.contact_unreachable)
def _unreachable(sender: Any, contact_id: int, channel: str, reason: str, **kw: Any) -> None:
    from cadences.models import Enrollment
    from cadences.tasks import enrollments_end_task

    enrollments_end_task.delay([contact_id], Enrollment.Outcome.BOUNCED, f"{channel}: {reason}")
