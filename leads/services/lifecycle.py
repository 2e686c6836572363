"""Lifecycle stages: every move is a `StageChange` row with its cause, written together with
`Contact.lifecycle_stage` and announced by the `stage_changed` signal on commit.

Orders move buyers to customer / repeat customer / VIP (an after-batch step), windows move
them on to at risk and churned and let idle MQLs and SQLs fall back (a beat task), a merge
keeps both histories, and people with the right role move a contact by hand with a reason.
The MQL/SQL definitions live in `leads.services.qualification`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from leads import signals
from leads.models import Contact, LifecycleSettings, LifecycleStage, StageChange
from leads.models.lifecycle import STAGE_RANK, stage_label
from leads.services.reactions import after_batch

Cause = StageChange.Cause
REASON_MAX_LENGTH = 1000
# Paid orders count towards the customer stages; refunds are taken out of the revenue.
PAID_STATUSES = ["paid", "fulfilled", "partially_refunded"]
CHUNK = 5000


@dataclass(frozen=True)
class StageMove:
    """A wanted move. `from_stage` guards against a concurrent change: when set, the move is
    skipped unless the contact is still in that stage."""

    contact_id: int
    to_stage: str
    cause_kind: str
    detail: str = ""
    from_stage: str | None = None
    criterion: str = ""
    event_id: int | None = None
    order_id: int | None = None
    definition_id: int | None = None
    actor_id: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Moved:
    change_id: int
    contact_id: int
    from_stage: str
    to_stage: str
    cause_kind: str


def lifecycle_settings_get() -> LifecycleSettings:
    """The one settings row. A database without it (new, or emptied by a test) gets it
    together with the default MQL/SQL definitions, as migration 0007 installs them."""
    row = LifecycleSettings.objects.filter(pk=1).first()
    if row is None:
        from leads.services.qualification import definitions_install_defaults

        with transaction.atomic():
            row, created = LifecycleSettings.objects.get_or_create(pk=1)
            if created:
                definitions_install_defaults()
    return row


def is_backward(from_stage: str, to_stage: str) -> bool:
    return STAGE_RANK.get(to_stage, 0) < STAGE_RANK.get(from_stage, 0)


def _announce(moved: list[Moved]) -> None:
    if not moved:
        return

    def send() -> None:
        for move in moved:
            signals.stage_changed.send(
                sender=Contact,
                contact_id=move.contact_id,
                from_stage=move.from_stage,
                to_stage=move.to_stage,
                cause=move.cause_kind,
                change_id=move.change_id,
            )

    transaction.on_commit(send)


def stage_changes_apply(*, moves: Iterable[StageMove], at: datetime | None = None) -> list[Moved]:
    """Apply many moves at once: lock the contacts in id order, then one statement updates
    their stage and inserts the `StageChange` rows. Moves to the stage a contact already
    holds, or whose `from_stage` no longer holds, are skipped. Returns what moved."""
    wanted: dict[int, StageMove] = {}
    for move in moves:
        if move.to_stage not in STAGE_RANK:
            raise ValueError(f"unknown lifecycle stage {move.to_stage!r}")
        wanted.setdefault(move.contact_id, move)  # the first move per contact wins
    if not wanted:
        return []
    at = at or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id, lifecycle_stage FROM leads_contact
            WHERE id = ANY(%s) AND merged_into_id IS NULL AND erased_at IS NULL
            ORDER BY id FOR UPDATE
            """,
            [sorted(wanted)],
        )
        current = dict(cursor.fetchall())
        rows = [
            (move, current[cid])
            for cid, move in sorted(wanted.items())
            if cid in current
            and current[cid] != move.to_stage
            and (move.from_stage is None or move.from_stage == current[cid])
        ]
        if not rows:
            return []
        moves_, stages = [m for m, _s in rows], [s for _m, s in rows]
        columns: dict[str, list[Any]] = {
            "contact_id": [m.contact_id for m in moves_],
            "from_stage": stages,
            "to_stage": [m.to_stage for m in moves_],
            "cause_kind": [m.cause_kind for m in moves_],
            "cause_detail": [m.detail[:300] for m in moves_],
            "criterion": [m.criterion[:40] for m in moves_],
            "event_id": [m.event_id for m in moves_],
            "order_id": [m.order_id for m in moves_],
            "definition_id": [m.definition_id for m in moves_],
            "actor_id": [m.actor_id for m in moves_],
            "reason": [m.reason for m in moves_],
            "backward": [is_backward(s, m.to_stage) for m, s in rows],
        }
        cursor.execute(
            """
            WITH w AS (
                SELECT * FROM unnest(
                    %(contact_id)s::bigint[], %(from_stage)s::text[], %(to_stage)s::text[],
                    %(cause_kind)s::text[], %(cause_detail)s::text[], %(criterion)s::text[],
                    %(event_id)s::bigint[], %(order_id)s::bigint[], %(definition_id)s::bigint[],
                    %(actor_id)s::bigint[], %(reason)s::text[], %(backward)s::boolean[]
                ) AS w(contact_id, from_stage, to_stage, cause_kind, cause_detail, criterion,
                       event_id, order_id, definition_id, actor_id, reason, backward)
            ), moved AS (
                UPDATE leads_contact c SET lifecycle_stage = w.to_stage, updated_at = %(at)s
                FROM w WHERE c.id = w.contact_id
                RETURNING c.id
            )
            INSERT INTO leads_stagechange
                (contact_id, from_stage, to_stage, at, cause_kind, cause_detail, criterion,
                 event_id, order_id, definition_id, actor_id, reason, backward)
            SELECT w.contact_id, w.from_stage, w.to_stage, %(at)s, w.cause_kind, w.cause_detail,
                   w.criterion, w.event_id, w.order_id, w.definition_id, w.actor_id, w.reason,
                   w.backward
            FROM w JOIN moved ON moved.id = w.contact_id
            RETURNING id, contact_id, from_stage, to_stage, cause_kind
            """,
            {**columns, "at": at},
        )
        moved = [Moved(*row) for row in cursor.fetchall()]
    _announce(moved)
    return moved


def stage_change(
    *,
    contact: Contact,
    to_stage: str,
    cause_kind: str,
    detail: str = "",
    reason: str = "",
    actor: Any = None,
    event_id: int | None = None,
    order_id: int | None = None,
    definition_id: int | None = None,
    criterion: str = "",
) -> StageChange | None:
    """Move one contact, in one transaction with its `StageChange` row. None when the
    contact already is in that stage. A move by a user needs a reason."""
    if to_stage not in LifecycleStage.values:
        raise ValidationError({"to_stage": _("Choose one of the lifecycle stages.")})
    reason = reason.strip()
    if cause_kind == Cause.USER and not reason:
        raise ValidationError({"reason": _("Say why you move this contact: others will read it.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)d characters.") % {"n": REASON_MAX_LENGTH}}
        )
    with transaction.atomic():
        moved = stage_changes_apply(
            moves=[
                StageMove(
                    contact_id=contact.pk,
                    to_stage=to_stage,
                    cause_kind=cause_kind,
                    detail=detail,
                    criterion=criterion,
                    event_id=event_id,
                    order_id=order_id,
                    definition_id=definition_id,
                    actor_id=actor.pk if actor is not None else None,
                    reason=reason,
                )
            ]
        )
        if not moved:
            return None
        contact.lifecycle_stage = to_stage
        return StageChange.objects.get(pk=moved[0].change_id)


def stage_move_by_user(*, contact: Contact, to_stage: str, actor: Any, reason: str) -> StageChange:
    """A person moves a contact by hand. Moving it to the stage it holds is an error, so the
    form can say so rather than silently do nothing."""
    if contact.merged_into_id or contact.erased_at:
        raise ValidationError(_("This contact was merged or erased; move the one it lives on in."))
    if to_stage == contact.lifecycle_stage:
        raise ValidationError(
            {"to_stage": _("The contact already is %(stage)s.") % {"stage": stage_label(to_stage)}}
        )
    change = stage_change(
        contact=contact,
        to_stage=to_stage,
        cause_kind=Cause.USER,
        detail=_("moved by %(name)s") % {"name": actor.get_full_name() or actor.get_username()},
        reason=reason,
        actor=actor,
    )
    if change is None:  # changed meanwhile by someone else: say so
        raise ValidationError(_("The contact's stage changed meanwhile; reload and try again."))
    return change


# --- Orders and windows -------------------------------------------------------------------

# Per contact with paid orders: the stage its orders put it in. Time windows first (a buyer
# who stopped buying is at risk, then churned, whatever it spent), then VIP by lifetime net
# revenue, then repeat customer from the second paid order.
_ORDER_STAGES = """
    WITH s AS (
        SELECT vip_min_revenue, at_risk_after_days, churned_after_days
        FROM leads_lifecyclesettings WHERE id = 1
    ), o AS (
        SELECT o.contact_id,
               count(*) AS paid_orders,
               sum((o.total - o.refunded_total) * o.rate_to_base) AS net_revenue,
               max(o.placed_at) AS last_order_at,
               (array_agg(o.id ORDER BY o.placed_at DESC, o.id DESC))[1] AS last_order_id
        FROM leads_order o
        WHERE o.status = ANY(%(paid)s) AND {orders_where}
        GROUP BY o.contact_id
    ), t AS (
        SELECT c.id, c.lifecycle_stage, o.paid_orders, o.net_revenue, o.last_order_id,
               o.last_order_at,
               CASE
                   WHEN s.churned_after_days > 0
                        AND o.last_order_at < %(now)s - make_interval(days => s.churned_after_days)
                       THEN 'churned'
                   WHEN s.at_risk_after_days > 0
                        AND o.last_order_at < %(now)s - make_interval(days => s.at_risk_after_days)
                       THEN 'at_risk'
                   WHEN s.vip_min_revenue > 0 AND o.net_revenue >= s.vip_min_revenue THEN 'vip'
                   WHEN o.paid_orders >= 2 THEN 'repeat_customer'
                   ELSE 'customer'
               END AS target
        FROM o JOIN leads_contact c ON c.id = o.contact_id CROSS JOIN s
        WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
    )
    SELECT id, lifecycle_stage, target, paid_orders, net_revenue, last_order_id, last_order_at
    FROM t WHERE target <> lifecycle_stage AND {targets_where}
"""


def _order_moves(orders_where: str, targets_where: str, params: dict[str, Any]) -> list[StageMove]:
    lifecycle_settings_get()  # the windows' row exists before the query joins it
    now = timezone.now()
    sql = _ORDER_STAGES.format(orders_where=orders_where, targets_where=targets_where)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "paid": PAID_STATUSES, "now": now})
        rows = cursor.fetchall()
    moves = []
    for contact_id, stage, target, paid, revenue, order_id, last_at in rows:
        if target in (LifecycleStage.AT_RISK, LifecycleStage.CHURNED):
            kind = Cause.WINDOW
            detail = _("no order for %(days)d days") % {"days": (now - last_at).days}
        else:
            kind = Cause.ORDER
            detail = _("%(n)d paid orders, %(revenue)s net revenue") % {
                "n": paid,
                "revenue": f"{revenue:.2f}",
            }
        moves.append(
            StageMove(
                contact_id=contact_id,
                from_stage=stage,
                to_stage=target,
                cause_kind=kind,
                detail=detail,
                order_id=order_id,
            )
        )
    return moves


@after_batch(5)
def lifecycle_orders_react(*, contact_ids: Sequence[int], event_ids: Sequence[int] = ()) -> None:
    """Buyers among the contacts a batch touched take the stage their orders give them."""
    if contact_ids:
        lifecycle_orders_apply(contact_ids=contact_ids)


def lifecycle_orders_apply(*, contact_ids: Sequence[int]) -> list[Moved]:
    moves = _order_moves("o.contact_id = ANY(%(ids)s)", "TRUE", {"ids": list(contact_ids)})
    return stage_changes_apply(moves=moves)


def lifecycle_windows_apply() -> dict[str, int]:
    """The beat's pass over everyone, set-based: buyers who stopped buying become at risk,
    then churned; idle SQLs fall back to MQL and idle MQLs to lead. Returns counts per move.

    A second beat running at the same time finds the lock taken and does nothing."""
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended('lifecycle_windows', 0))")
        if not cursor.fetchone()[0]:
            return counts
        try:
            moves = _order_moves(
                "o.contact_id IS NOT NULL",
                "target IN ('at_risk', 'churned') AND lifecycle_stage = ANY(%(buyers)s)",
                {"buyers": ["customer", "repeat_customer", "vip", "at_risk"]},
            )
            moves += _idle_moves()
            for start in range(0, len(moves), CHUNK):
                for moved in stage_changes_apply(moves=moves[start : start + CHUNK]):
                    key = f"{moved.from_stage}->{moved.to_stage}"
                    counts[key] = counts.get(key, 0) + 1
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended('lifecycle_windows', 0))")
    return counts


def _idle_moves() -> list[StageMove]:
    """MQLs and SQLs with no event and no stage change within their window fall back."""
    windows = lifecycle_settings_get()
    now = timezone.now()
    moves: list[StageMove] = []
    for stage, days, to_stage in (
        (LifecycleStage.SQL, windows.sql_inactive_days, LifecycleStage.MQL),
        (LifecycleStage.MQL, windows.mql_inactive_days, LifecycleStage.LEAD),
    ):
        if not days:
            continue
        cutoff = now - timedelta(days=days)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.id FROM leads_contact c
                WHERE c.lifecycle_stage = %(stage)s
                  AND c.merged_into_id IS NULL AND c.erased_at IS NULL
                  AND (c.last_seen_at IS NULL OR c.last_seen_at < %(cutoff)s)
                  AND NOT EXISTS (
                      SELECT 1 FROM leads_event e
                      WHERE e.contact_id = c.id AND e.occurred_at >= %(cutoff)s
                  )
                  AND NOT EXISTS (
                      SELECT 1 FROM leads_stagechange sc
                      WHERE sc.contact_id = c.id AND sc.at >= %(cutoff)s
                  )
                """,
                {"stage": stage, "cutoff": cutoff},
            )
            ids = [row[0] for row in cursor.fetchall()]
        detail = _("no activity for %(days)d days") % {"days": days}
        moves += [
            StageMove(
                contact_id=cid,
                from_stage=stage,
                to_stage=to_stage,
                cause_kind=Cause.WINDOW,
                detail=detail,
            )
            for cid in ids
        ]
    return moves


# --- Merges ---------------------------------------------------------------------------------


def lifecycle_merge(*, survivor: Contact, merged: Contact) -> None:
    """Inside `contact_merge`, before the survivor is saved: both histories are already on
    the survivor; it takes the more advanced of the two stages, recorded as a merge."""
    stages = dict(
        Contact.objects.filter(pk__in=[survivor.pk, merged.pk]).values_list("pk", "lifecycle_stage")
    )
    survivor.lifecycle_stage = stages.get(survivor.pk, survivor.lifecycle_stage)
    merged.lifecycle_stage = stages.get(merged.pk, merged.lifecycle_stage)
    if STAGE_RANK.get(merged.lifecycle_stage, 0) <= STAGE_RANK.get(survivor.lifecycle_stage, 0):
        return
    change = StageChange.objects.create(
        contact=survivor,
        from_stage=survivor.lifecycle_stage,
        to_stage=merged.lifecycle_stage,
        cause_kind=Cause.MERGE,
        cause_detail=_("merged with #%(id)s, which was %(stage)s")
        % {"id": merged.pk, "stage": stage_label(merged.lifecycle_stage)},
    )
    survivor.lifecycle_stage = merged.lifecycle_stage
    _announce(
        [Moved(change.pk, survivor.pk, change.from_stage, change.to_stage, change.cause_kind)]
    )
