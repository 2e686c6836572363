"""Building blocks of the cadence tests: a published cadence, reps that are working, MQLs."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from cadences.models import Cadence, Rep, Team
from cadences.services.cadences import cadence_publish, cadence_save
from leads.models import Consent
from tests.factories import UserFactory
from tests.leads.factories import ConsentFactory, ContactFactory

# A Tuesday, 10:00 in Berlin: inside everyone's working hours.
NOW = datetime(2025, 6, 10, 8, tzinfo=UTC)


def steps(*kinds: tuple[int, str], template: int | None = None) -> list[dict[str, Any]]:
    return [
        {
            "day": day,
            "kind": kind,
            "from": "09:00",
            "until": "18:00",
            "template": template if kind.endswith("_auto") else None,
            "script": "",
            "instructions": "",
        }
        for day, kind in kinds
    ]


def published(
    name: str = "Fast",
    kinds: tuple[tuple[int, str], ...] = ((0, "call"), (1, "call")),
    **fields: Any,
) -> Cadence:
    template = fields.pop("template", None)
    cadence = cadence_save(
        cadence=None, name=name, steps=steps(*kinds, template=template), **fields
    )
    cadence_publish(cadence=cadence)
    cadence.refresh_from_db()
    return cadence


def team() -> Team:
    return Team.objects.get_or_create(
        name="Berlin", defaults={"time_zone": "Europe/Berlin", "opens": time(9), "closes": time(18)}
    )[0]


def rep(**fields: Any) -> Rep:
    user = UserFactory()
    return Rep.objects.create(
        user=user, team=team(), works_from=time(0), works_until=time(23, 59), **fields
    )


def mql(n: int = 0, **fields: Any) -> Any:
    values = {
        "email": f"lead{n}@example.com",
        "phone": f"+4915100000{n:03d}",
        "time_zone": "Europe/Berlin",
        "lifecycle_stage": "mql",
        **fields,
    }
    contact = ContactFactory(**values)
    for channel in ("email", "sms"):
        ConsentFactory(contact=contact, channel=channel, status=Consent.Status.GRANTED)
    return contact
