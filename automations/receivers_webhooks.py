"""Domain signals into outbound webhook rows (automations.webhooks_out). The signals come
on commit, with ids; each receiver writes its rows with one statement, or none when no
active subscription wants the event. Nothing here talks HTTP."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from automations import signals as automation_signals
from automations import webhooks_out
from leads import signals


@receiver(signals.stage_changed, dispatch_uid="automations.webhooks.stage_changed")
def _stage_changed(sender: Any, change_id: int, **kw: Any) -> None:
    webhooks_out.stage_changed(change_id=change_id)


@receiver(signals.contacts_merged, dispatch_uid="automations.webhooks.contacts_merged")
def _contacts_merged(sender: Any, survivor_id: int, merged_id: int, **kw: Any) -> None:
    webhooks_out.contacts_merged(survivor_id=survivor_id, merged_id=merged_id)


@receiver(signals.consent_changed, dispatch_uid="automations.webhooks.consent_changed")
def _consent_changed(sender: Any, contact_id: int, channel: str, **kw: Any) -> None:
    webhooks_out.consent_changed(contact_id=contact_id, channel=channel)


@receiver(signals.segment_entered, dispatch_uid="automations.webhooks.segment_entered")
def _segment_entered(sender: Any, segment_id: int, contact_ids: list[int], **kw: Any) -> None:
    webhooks_out.segment_moved(segment_id=segment_id, contact_ids=contact_ids, entered=True)


@receiver(signals.segment_exited, dispatch_uid="automations.webhooks.segment_exited")
def _segment_exited(sender: Any, segment_id: int, contact_ids: list[int], **kw: Any) -> None:
    webhooks_out.segment_moved(segment_id=segment_id, contact_ids=contact_ids, entered=False)


@receiver(signals.orders_created, dispatch_uid="automations.webhooks.orders_created")
def _orders_created(sender: Any, order_ids: list[int], **kw: Any) -> None:
    webhooks_out.orders_created(order_ids=order_ids)


@receiver(automation_signals.survey_answered, dispatch_uid="automations.webhooks.survey")
def _survey_answered(sender: Any, answer_id: int, **kw: Any) -> None:
    webhooks_out.survey_answered(answer_id=answer_id)


@receiver(automation_signals.reply_received, dispatch_uid="automations.webhooks.reply")
def _reply_received(sender: Any, contact_id: int, channel: str, inbound_id: int, **kw: Any) -> None:
    webhooks_out.reply_received(contact_id=contact_id, channel=channel, inbound_id=inbound_id)
