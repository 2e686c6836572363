"""The demo shop: steps that fill an empty Growth with realistic data.

Apps add their own steps (contacts, orders, journeys …) with `register_step` in their
AppConfig.ready(); `manage.py demo_seed` runs them in order with a progress bar. Every step
is idempotent: a second `make demo` finds the data there and changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from growth.roles import Role

DEMO_PASSWORD_ENV = "DEMO_PASSWORD"  # noqa: S105 (a variable name)
DEFAULT_DEMO_PASSWORD = "growth-demo"  # noqa: S105 (printed for the demo on purpose)

# One login per role: (user name, first name, last name).
DEMO_USERS: dict[Role, tuple[str, str, str]] = {
    Role.MARKETER: ("marketer", "Lin", "Wei"),
    Role.REP: ("rep", "Sam", "Rivera"),
    Role.SALES_MANAGER: ("salesmanager", "Alex", "Chen"),
    Role.MANAGER: ("manager", "Jordan", "Lee"),
    Role.ADMIN: ("admin", "Ada", "Okafor"),
}


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Callable[[int], None]], object]  # gets an `advance(n)` callback
    total: int  # units of progress the step reports


_steps: list[Step] = []


def register_step(step: Step) -> None:
    if all(existing.name != step.name for existing in _steps):
        _steps.append(step)


def steps() -> list[Step]:
    return list(_steps)


def demo_password() -> str:
    return os.environ.get(DEMO_PASSWORD_ENV) or DEFAULT_DEMO_PASSWORD


def seed_users(advance: Callable[[int], None]) -> None:
    from growth.models import User
    from growth.services import user_create

    for role, (username, first, last) in DEMO_USERS.items():
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=demo_password(),
                roles=[role],
                email=f"{username}@demo.growth.local",
                first_name=first,
                last_name=last,
            )
        advance(1)


def logins() -> list[tuple[str, str, str]]:
    """(role label, user name, password) for the banner `make demo` prints."""
    return [(str(role.label), u[0], demo_password()) for role, u in DEMO_USERS.items()]


register_step(Step("users", seed_users, total=len(DEMO_USERS)))
