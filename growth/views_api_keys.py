"""API keys for admins: list, create (the key is shown once, on the next page), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from growth.api import scopes
from growth.api.forms import ApiKeyForm
from growth.api.keys import api_key_create, api_key_revoke
from growth.models import ApiKey
from growth.permissions import capability_required
from growth.roles import Capability

manage_sources = capability_required(Capability.MANAGE_SOURCES)
# The plain key waits in the session between the create POST and the page that shows it;
# that page takes it out, so a reload (or anyone later) cannot see it again.
SHOWN_ONCE = "api_key_plain_{}"


def _scope_labels(key: ApiKey) -> list[str]:
    # In the form's order: jsonb keeps its keys in an order of its own.
    return [scopes.label(r, key.scopes[r]) for r in scopes.RESOURCES if r in key.scopes]


@manage_sources
@require_GET
def key_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    keys = [
        (key, key.status(now), _scope_labels(key))
        for key in ApiKey.objects.select_related("created_by")
    ]
    return render(request, "growth/api_keys/list.html", {"keys": keys})


@manage_sources
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        new = api_key_create(
            name=data["name"],
            scopes=data["scopes"],
            created_by=request.user,
            expires_at=data["expires_on"],
            rate_limit_per_minute=data["rate_limit_per_minute"],
            request=request,
        )
        request.session[SHOWN_ONCE.format(new.key.pk)] = new.plain
        return redirect("api_key_created", pk=new.key.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "growth/api_keys/form.html", {"form": form}, status=status)


@manage_sources
@require_GET
def key_created(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk)
    plain = request.session.pop(SHOWN_ONCE.format(pk), None)
    if plain is None:
        raise Http404(_("This key was shown once already: Growth keeps only its hash."))
    response = render(
        request,
        "growth/api_keys/created.html",
        {"key": key, "plain": plain, "scope_labels": _scope_labels(key)},
    )
    response["Cache-Control"] = "no-store"
    return response


@manage_sources
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks to confirm (the key stops working at once); POST revokes."""
    key = get_object_or_404(ApiKey.objects.select_related("created_by"), pk=pk)
    if request.method == "POST":
        api_key_revoke(key=key, actor=request.user, request=request)
        messages.success(request, _("Key %(name)s revoked.") % {"name": key.name})
        return redirect("api_keys")
    return render(request, "growth/api_keys/revoke.html", {"key": key})
