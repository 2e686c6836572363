from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from growth import navigation, ops, selectors, services
from growth.forms import UserCreateForm, UserEditForm, UserFilterForm
from growth.health import health_report
from growth.models import User
from growth.permissions import CapabilityRequiredMixin, capability_required, denial_message
from growth.roles import Capability


@login_required
def home(request: HttpRequest) -> HttpResponse:
    sections = navigation.sections_for(request.user)
    return render(
        request,
        "growth/home.html",
        {"groups": navigation.grouped(sections), "roles": request.user.role_names()},  # type: ignore[union-attr]
    )


class SectionView(CapabilityRequiredMixin, TemplateView):
    """A section's landing page before it has data: says what will appear and how."""

    template_name = "growth/section.html"
    section_key = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self.section = navigation.get(self.section_key)
        self.capability = self.section.capability
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(section=self.section, **kwargs)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Probe for load balancers and `docker compose`: 200 when all parts answer, else 503
    with the failing parts named. It reveals no data, so it needs no sign-in."""
    healthy, parts = health_report()
    body: dict[str, Any] = {"status": "ok" if healthy else "down", **parts}
    if not healthy:
        body["down"] = [name for name in ("database", "redis", "worker") if not parts[name]["ok"]]
    return JsonResponse(body, status=200 if healthy else 503)


@capability_required(Capability.VIEW_SYSTEM)
def system(request: HttpRequest) -> HttpResponse:
    snap = ops.snapshot()
    # A dead-letter list links only for those who may open it; others are told who can.
    dead_letters = []
    for item in snap.dead_letters:
        section = navigation.get(item.section)
        opens = section.opens_for(request.user)
        needs = "" if opens else denial_message(section.capability)
        dead_letters.append({"item": item, "section": section, "opens": opens, "needs": needs})
    context = {
        "snap": snap,
        "healthy": snap.healthy,
        "parts": [
            {"name": name, "check": check, "hint": snap.hints.get(name, "")}
            for name, check in snap.parts.items()
        ],
        "dead_letters": dead_letters,
    }
    template = "growth/_system_parts.html" if request.htmx else "growth/system.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@capability_required(Capability.MANAGE_USERS)
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        active = form.cleaned_data["active"]
        filters = {
            "q": form.cleaned_data["q"],
            "role": form.cleaned_data["role"],
            "active": None if active == "" else active == "1",
        }
    users = selectors.user_list(**filters)
    return render(request, "growth/users/list.html", {"form": form, "users": users})


@capability_required(Capability.MANAGE_USERS)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(**form.cleaned_data, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("users")
    return render(request, "growth/users/form.html", {"form": form, "creating": True})


@capability_required(Capability.MANAGE_USERS)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User.objects.prefetch_related("groups"), pk=pk)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
        "roles": [group.name for group in user.groups.all()],
    }
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(user=user, actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": user.username})
            return redirect("users")
    return render(request, "growth/users/form.html", {"form": form, "subject": user})


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = (
        str(exception)
        if exception and str(exception)
        else _("You do not have access to this page.")
    )
    return render(request, "403.html", {"reason": reason}, status=403)
