"""When steps fall due and when the SLA runs out: in the contact's and the team's clocks."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from cadences.services.timing import business_deadline, step_due

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = [0, 1, 2, 3, 4]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def due(started: str, day: int, now: str) -> datetime:
    return step_due(
        started=at(started), day=day, opens=time(9), closes=time(18), zone=BERLIN, now=at(now)
    )


def test_a_step_is_due_at_its_window_or_now_when_the_window_is_open():
    assert due("2025-06-10 10:00", 0, "2025-06-10 10:00") == at("2025-06-10 10:00")
    assert due("2025-06-10 10:00", 2, "2025-06-10 10:00") == at("2025-06-12 09:00")
    # Entered late in the evening: day 0's window has passed, so the next morning.
    assert due("2025-06-10 22:00", 0, "2025-06-10 22:00") == at("2025-06-11 09:00")
    # Early in the morning: the window opens later today.
    assert due("2025-06-10 06:00", 0, "2025-06-10 06:00") == at("2025-06-10 09:00")


def test_a_step_keeps_its_wall_clock_time_across_the_dst_change():
    # Berlin moves to summer time on 2025-03-30: "day 2 at 9:00" is 07:00 UTC, not 08:00.
    got = due("2025-03-28 10:00", 2, "2025-03-28 10:00")
    assert got == at("2025-03-30 09:00") and got.astimezone(UTC).hour == 7


def test_the_sla_clock_runs_in_business_hours_only():
    def deadline(start: str, minutes: int = 30) -> datetime:
        return business_deadline(
            start=at(start),
            minutes=minutes,
            zone=BERLIN,
            opens=time(9),
            closes=time(18),
            days=WEEKDAYS,
        )

    assert deadline("2025-06-10 10:00") == at("2025-06-10 10:30")
    assert deadline("2025-06-10 17:50") == at("2025-06-11 09:20")  # 10 min today, 20 tomorrow
    assert deadline("2025-06-10 23:00") == at("2025-06-11 09:30")
    assert deadline("2025-06-13 17:45") == at("2025-06-16 09:15")  # Friday evening → Monday
    assert deadline("2025-06-14 12:00") == at("2025-06-16 09:30")  # Saturday
