"""Which contacts a user may act on without the contact list (VIEW_CONTACTS): only the ones
assigned to them. What "assigned" means is another app's rule (cadences: the contacts of a
rep's own enrollments); it registers the rule here, so leads never imports it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from growth.roles import Capability, permission_name

Rule = Callable[[Any, int], bool]  # (user, contact id) → the contact is assigned to the user

_rules: dict[str, Rule] = {}


def register(name: str, rule: Rule) -> None:
    _rules[name] = rule


def may_act_on(user: Any, contact_id: int) -> bool:
    """Everyone who sees the contact list may act on any contact; anyone else only on the
    contacts a registered rule assigns to them."""
    if user.has_perm(permission_name(Capability.VIEW_CONTACTS)):
        return True
    return any(rule(user, contact_id) for rule in _rules.values())
