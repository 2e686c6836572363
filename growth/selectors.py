"""Reads of the project package."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from growth.models import User


def user_list(*, role: str = "", active: bool | None = None, q: str = "") -> QuerySet[User]:
    users = User.objects.prefetch_related("groups").order_by("username")
    if role:
        users = users.filter(groups__name=role)
    if active is not None:
        users = users.filter(is_active=active)
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(email__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
        )
    return users
