"""The inbox: team tasks for the signed-in user and their roles, open first; mark done.

Every signed-in user has an inbox (tasks can be for anyone), so the pages ask for a sign-in,
not a capability; the object check is the selector's scope: a task that is neither the
user's nor their role's is answered 404, as if it did not exist."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from automations import selectors_engagement as selectors
from automations.models import TeamTask
from automations.services.inbox import task_complete
from growth.roles import Capability, permission_name

FILTERS = ("", TeamTask.Status.OPEN, TeamTask.Status.DONE)


def _page_number(raw: str) -> int:
    try:
        return max(1, min(int(raw), 10_000))
    except ValueError:
        return 1


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in FILTERS:
        status = ""
    page = selectors.inbox_page(
        user=request.user, status=status, page=_page_number(request.GET.get("page", "1"))
    )
    return render(
        request,
        "automations/inbox/inbox.html",
        {
            "page": page,
            "status": status,
            "can_view_contacts": request.user.has_perm(permission_name(Capability.VIEW_CONTACTS)),
        },
    )


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.inbox_task(user=request.user, pk=pk)
    if task is None:
        raise Http404(_("No such task in your inbox."))
    try:
        task = task_complete(task=task, actor=request.user)
    except PermissionDenied:  # the user lost the role between the two reads
        raise Http404(_("No such task in your inbox.")) from None
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, _("Done: %(title)s") % {"title": task.title})
        return redirect("inbox")
    task = selectors.inbox_task(user=request.user, pk=pk) or task
    return render(
        request,
        "automations/inbox/_task_done.html",
        {
            "task": task,
            "open_count": selectors.inbox_unread_count(user=request.user),
            "can_view_contacts": request.user.has_perm(permission_name(Capability.VIEW_CONTACTS)),
        },
    )
