"""Which contacts a user may act on without the contact list (VIEW_CONTACTS): only the ones
assigned to them. What "assigned" means is another app's rule (cadences: the contacts of a
rep's own enrollments); it registers the rule here, so leads never imports it.

A rule answers for one contact (the contact's pages) and, to list them ("My contacts"),
for all of them at once; both come from the registering app, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from growth.permissions import denial_message
from growth.roles import Capability, permission_name

Rule = Callable[[Any, int], bool]  # (user, contact id) → the contact is assigned to the user
Held = Callable[[Any], QuerySet[Any]]  # user → the ids of its contacts (one column, a subquery)

# Who may be assigned contacts at all: the reps (work the queue). Anyone else without the
# contact list gets the 403 that names the roles, not a 404 that would hide what to ask for.
ASSIGNABLE = (Capability.WORK_QUEUE,)


@dataclass(frozen=True)
class _Registered:
    holds: Rule
    held: Held | None


_rules: dict[str, _Registered] = {}


def register(name: str, rule: Rule, held: Held | None = None) -> None:
    """`rule` answers for one contact; `held`, when given, lists the user's contacts."""
    _rules[name] = _Registered(rule, held)


def sees_every_contact(user: Any) -> bool:
    return bool(user.has_perm(permission_name(Capability.VIEW_CONTACTS)))


def may_act_on(user: Any, contact_id: int) -> bool:
    """Everyone who sees the contact list may act on any contact; anyone else only on the
    contacts a registered rule assigns to them."""
    if sees_every_contact(user):
        return True
    return any(registered.holds(user, contact_id) for registered in _rules.values())


def may_be_assigned(user: Any) -> bool:
    return any(user.has_perm(permission_name(c)) for c in ASSIGNABLE)


def check_contact(user: Any, contact_id: int) -> None:
    """Nothing when the user may open this contact's pages. Otherwise a 404 for a user who
    may open some contacts (a rep: another rep's lead looks like no lead, so ids cannot be
    probed), and the 403 naming the roles for a user who may open none."""
    if may_act_on(user, contact_id):
        return
    if not may_be_assigned(user):
        raise PermissionDenied(denial_message(Capability.VIEW_CONTACTS))
    raise Http404(_("No contact with this number."))


def contact_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For a view of one contact, its id the URL's `pk`: sign in, then `check_contact`.
    The capability of an action (moving a stage, merging…) is the view's own check."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        check_contact(request.user, int(kwargs["pk"]))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def assigned_contacts(user: Any, contact_field: str = "pk") -> Q:
    """The condition on `contact_field` (a contact's pk, or a row's contact id) that keeps
    the contacts assigned to the user (what its "My contacts" lists and what the API shows
    a rep, whatever else it may see): one subquery per registered rule."""
    condition = Q(**{f"{contact_field}__in": []})
    for registered in _rules.values():
        if registered.held is not None:
            condition |= Q(**{f"{contact_field}__in": registered.held(user)})
    return condition
