"""The audit log page: who signed in (or failed to), changed roles, made API keys, exported
or erased data, rotated webhook secrets; newest first, filtered, paged, exported as CSV.

It asks for MANAGE_USERS, not VIEW_SYSTEM: the log is an account of what people did with
their accounts and with contact data, so it belongs to whoever grants those accounts their
roles (both are the admin's today; a future "operator" role seeing system health should
not read who signed in from where)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from growth import audit
from growth.csv_stream import csv_response
from growth.models import AuditEvent
from growth.permissions import capability_required
from growth.roles import Capability

PAGE_SIZE = 50
MAX_PAGE = 10_000
CSV_COLUMNS = ("at", "action", "by", "target", "ip", "detail")

manage_users = capability_required(Capability.MANAGE_USERS)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        required=False,
        choices=[("", gettext_lazy("Any action")), *AuditEvent.Action.choices],
    )
    user = forms.CharField(label=gettext_lazy("By"), required=False, max_length=150)
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events(
    *, action: str = "", user: str = "", since: Any = None, until: Any = None, q: str = ""
) -> QuerySet[AuditEvent]:
    """Events matching the filters, newest first. `user` matches the name recorded (kept
    after the user is gone); `q` the target, the name and the detail's text."""
    rows = AuditEvent.objects.order_by("-at", "-pk")
    if action:
        rows = rows.filter(action=action)
    if user:
        rows = rows.filter(actor_label__iexact=user.strip())
    if since:
        rows = rows.filter(at__gte=_day_start(since))
    if until:
        rows = rows.filter(at__lt=_day_start(until + timedelta(days=1)))
    if q := q.strip():
        rows = rows.annotate(detail_text=Cast("detail", TextField())).filter(
            Q(target__icontains=q) | Q(actor_label__icontains=q) | Q(detail_text__icontains=q)
        )
    return rows


def detail_text(detail: Any) -> str:
    """The detail as one line, `key: value` pairs, for the table and the CSV."""
    if not detail:
        return ""
    if not isinstance(detail, dict):
        return json.dumps(detail, ensure_ascii=False)
    return "; ".join(
        f"{key}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}"
        for key, value in detail.items()
    )


@dataclass(frozen=True, slots=True)
class Row:
    at: datetime
    action: str
    action_label: str
    by: str
    target: str
    ip: str
    detail: str


def _row(event: AuditEvent) -> Row:
    return Row(
        at=event.at,
        action=event.action,
        action_label=str(event.get_action_display()),
        by=event.actor_label,
        target=event.target,
        ip=event.ip or "",
        detail=detail_text(event.detail),
    )


def _filters(form: AuditFilterForm) -> dict[str, Any]:
    if not form.is_valid():
        return {}
    return {name: form.cleaned_data[name] for name in ("action", "user", "since", "until", "q")}


def _page_number(raw: str) -> int:
    try:
        return max(1, min(int(raw), MAX_PAGE))
    except ValueError:
        return 1


@manage_users
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = _filters(form)
    page = _page_number(request.GET.get("page", "1"))
    start = (page - 1) * PAGE_SIZE
    events = list(audit_events(**filters)[start : start + PAGE_SIZE + 1])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "rows": [_row(e) for e in events[:PAGE_SIZE]],
        "page": page,
        "has_next": len(events) > PAGE_SIZE,
        "filtered": any(filters.values()),
        "query": query.urlencode(),
    }
    # Bad filters (a date that is not one): the form says what, with a 400.
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "growth/audit/list.html", context, status=status)


@manage_users
@require_GET
def audit_export(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    """Every event the filters match, as CSV; the export is itself an audit event."""
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "growth/audit/list.html",
            {"form": form, "rows": [], "page": 1, "has_next": False, "filtered": True},
            status=400,
        )
    filters = _filters(form)
    export = audit.record(
        AuditEvent.Action.EXPORT,
        actor=request.user,
        target="audit log",
        request=request,
        filters={k: str(v) for k, v in filters.items() if v},
    )

    def rows() -> Iterator[tuple[str, ...]]:
        # The log as it was when asked for: not this export, nor what happens while it streams.
        for event in audit_events(**filters).filter(pk__lt=export.pk).iterator(chunk_size=2000):
            yield (
                event.at.isoformat(),
                event.action,
                event.actor_label,
                event.target,
                event.ip or "",
                detail_text(event.detail),
            )

    response = csv_response(filename="audit-log.csv", header=CSV_COLUMNS, rows=rows())
    response["Cache-Control"] = "no-store"
    return response
