"""Setting up the sales team: teams (time zone, business hours), reps (hours, territory,
capacity) and the SLA policy. Each write validates every field first and raises one
ValidationError keyed by field name, so the form shows each message next to its field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cadences.models import Rep, SlaPolicy, Team
from cadences.services.enrollment import sla_policy
from growth.roles import Role

MAX_MINUTES = 24 * 60  # an SLA or reminder longer than a day is no speed to lead
MAX_LEASE_MINUTES = 120  # a longer lease hides a lead from every other rep for too long
MAX_CAPACITY = 10_000
COUNTRY = re.compile(r"^[A-Z]{2}$")


def time_zone_valid(name: str) -> bool:
    """True for an IANA zone name zoneinfo knows ("Europe/Berlin"), False for anything else
    (a typo, a path, an empty string)."""
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _days(days: Iterable[Any], field: str, errors: dict[str, str]) -> list[int]:
    try:
        clean = sorted({int(d) for d in days})
    except (TypeError, ValueError):
        clean = [-1]
    if not clean:
        errors[field] = _("Choose at least one day.")
    elif not all(0 <= d <= 6 for d in clean):
        errors[field] = _("Choose days from Monday to Sunday.")
    return clean


def _hours(opens: time | None, closes: time | None, field: str, errors: dict[str, str]) -> None:
    if opens is None or closes is None:
        errors[field] = _("Give both times as HH:MM, e.g. 09:00 and 18:00.")
    elif opens >= closes:
        errors[field] = _("The end must come after the start on the same day.")


@transaction.atomic
def team_save(
    *,
    team: Team | None,
    name: str,
    time_zone: str,
    opens: time | None,
    closes: time | None,
    days: Iterable[Any],
) -> Team:
    """Create or edit a team. Its time zone and hours frame the SLA clock of its reps' leads."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the team a name.")
    elif len(name) > 80:
        errors["name"] = _("Keep the name under 80 characters.")
    elif Team.objects.filter(name__iexact=name).exclude(pk=team.pk if team else 0).exists():
        errors["name"] = _("Another team has this name.")
    time_zone = (time_zone or "").strip()
    if not time_zone_valid(time_zone):
        errors["time_zone"] = _(
            "“%(zone)s” is not a time zone; use a name like Europe/Berlin or America/New_York."
        ) % {"zone": time_zone[:64]}
    _hours(opens, closes, "closes", errors)
    clean_days = _days(days, "days", errors)
    if errors:
        raise ValidationError(errors)
    team = team or Team()
    team.name, team.time_zone, team.days = name, time_zone, clean_days
    team.opens, team.closes = opens, closes  # type: ignore[assignment]  # checked above
    team.save()
    return team


def _territory(codes: Iterable[str], errors: dict[str, str]) -> list[str]:
    clean = []
    for code in codes:
        code = str(code).strip().upper()
        if not code:
            continue
        if not COUNTRY.match(code):
            errors["territory"] = _(
                "“%(code)s” is not a country code; use two letters like DE, FR or US."
            ) % {"code": code[:20]}
            break
        if code not in clean:
            clean.append(code)
    if len(clean) > 250:
        errors["territory"] = _("That is more countries than there are.")
    return clean


def rep_save(
    *,
    rep: Rep | None,
    user: Any = None,
    team: Team | None = None,
    territory: Iterable[str] = (),
    works_from: time | None = None,
    works_until: time | None = None,
    work_days: Iterable[Any] = (0, 1, 2, 3, 4),
    capacity: int = 200,
    away: bool = False,
) -> Rep:
    """Make `user` a rep (new) or change a rep's team, territory, hours and capacity. Only a
    user with the sales rep role can work the queue, so only such a user can be a rep."""
    errors: dict[str, str] = {}
    if rep is None:
        if user is None:
            errors["user"] = _("Choose the user who works the queue.")
        elif not user.is_active:
            errors["user"] = _("This user is deactivated.")
        elif not user.groups.filter(name=Role.REP.value).exists():
            errors["user"] = _(
                "Only users with the Sales rep role can work the queue: give them the role first."
            )
        elif Rep.objects.filter(user=user).exists():
            errors["user"] = _("This user is a rep already.")
    clean_territory = _territory(territory, errors)
    _hours(works_from, works_until, "works_until", errors)
    clean_days = _days(work_days, "work_days", errors)
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = _("The most active leads is a whole number from 1 to %(n)d.") % {
            "n": MAX_CAPACITY
        }
    if errors:
        raise ValidationError(errors)
    rep = rep or Rep(user=user)
    rep.team = team
    rep.territory = clean_territory
    rep.works_from, rep.works_until = works_from, works_until  # type: ignore[assignment]
    rep.work_days = clean_days
    rep.capacity = capacity
    rep.away = bool(away)
    try:
        with transaction.atomic():
            rep.save()
    except IntegrityError:  # the same user made a rep twice at once
        raise ValidationError({"user": _("This user is a rep already.")}) from None
    return rep


def sla_policy_save(
    *,
    first_touch_minutes: int,
    remind_before_minutes: int,
    reassign: bool,
    lease_minutes: int,
    new_leads_first: bool = True,
    new_lead_hours: int = 24,
    then_by: str = SlaPolicy.ThenBy.OVERDUE,
) -> SlaPolicy:
    """Change the SLA and the queue's priority rules. The SLA applies to leads that qualify
    from now on: a deadline already set on an enrollment stays what the rep was promised;
    the priority rules apply to the next lead any rep asks for."""
    errors: dict[str, str] = {}

    def minutes(value: Any, field: str, low: int, high: int, message: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[field] = message % {"low": low, "high": high}
            return low
        return value

    first = minutes(
        first_touch_minutes,
        "first_touch_minutes",
        1,
        MAX_MINUTES,
        _("The first touch is due %(low)d to %(high)d minutes (a day) after the lead qualifies."),
    )
    remind = minutes(
        remind_before_minutes,
        "remind_before_minutes",
        0,
        MAX_MINUTES,
        _("The reminder comes %(low)d to %(high)d minutes before the deadline."),
    )
    if not {"remind_before_minutes", "first_touch_minutes"} & set(errors) and remind >= first:
        errors["remind_before_minutes"] = _(
            "Remind the rep less than the %(n)d minutes the SLA gives, or the reminder "
            "comes before the lead does."
        ) % {"n": first}
    lease = minutes(
        lease_minutes,
        "lease_minutes",
        1,
        MAX_LEASE_MINUTES,
        _("A rep holds a lead %(low)d to %(high)d minutes before it goes back to the queue."),
    )
    hours = minutes(
        new_lead_hours,
        "new_lead_hours",
        1,
        168,
        _("A lead counts as new for %(low)d to %(high)d hours (a week)."),
    )
    if then_by not in SlaPolicy.ThenBy.values:
        errors["then_by"] = _("Choose what comes after the new leads.")
    if errors:
        raise ValidationError(errors)
    policy = sla_policy()
    policy.new_leads_first = bool(new_leads_first)
    policy.new_lead_hours = hours
    policy.then_by = then_by
    policy.first_touch_minutes = first
    policy.remind_before_minutes = remind
    policy.reassign = bool(reassign)
    policy.lease_minutes = lease
    policy.save()
    return policy
