"""When a step is due and when the SLA runs out: wall-clock rules in a time zone.

Built from local dates and wall times, so "day 2 at 9:00" stays 9:00 across DST changes.
No queries: callers pass the zone and the hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def step_due(
    *, started: datetime, day: int, opens: time, closes: time, zone: ZoneInfo, now: datetime
) -> datetime:
    """The moment a step on day `day` of an enrollment that started at `started` falls due:
    that day's window opening in the contact's zone, or now when the window is open, or the
    next day's opening when that day's window has passed already."""
    start_day: date = started.astimezone(zone).date()
    target = start_day + timedelta(days=day)
    local_now = now.astimezone(zone)
    for _attempt in range(8):
        window_open = datetime.combine(target, opens, tzinfo=zone)
        window_close = datetime.combine(target, closes, tzinfo=zone)
        if window_close <= window_open:  # a window over midnight, or an empty one
            window_close += timedelta(days=1)
        if local_now < window_open:
            return window_open
        if local_now < window_close:
            return now
        target = max(target + timedelta(days=1), local_now.date())
    return now


def business_deadline(
    *, start: datetime, minutes: int, zone: ZoneInfo, opens: time, closes: time, days: list[int]
) -> datetime:
    """`minutes` of business time after `start`: the clock runs only inside the team's
    hours on its business days (a lead that qualifies at 23:00 is due 30 minutes after the
    team opens)."""
    left = timedelta(minutes=minutes)
    local = start.astimezone(zone)
    day = local.date()
    for _attempt in range(366):
        if day.weekday() in days:
            window_open = datetime.combine(day, opens, tzinfo=zone)
            window_close = datetime.combine(day, closes, tzinfo=zone)
            begin = max(window_open, local)
            if begin < window_close:
                room = window_close - begin
                if left <= room:
                    return begin + left
                left -= room
        day += timedelta(days=1)
    return start + timedelta(minutes=minutes)  # no business days configured: wall-clock time


def inside_hours(
    moment: datetime, *, zone: ZoneInfo, opens: time, closes: time, days: list[int]
) -> bool:
    local = moment.astimezone(zone)
    return local.weekday() in days and opens <= local.time() < closes
