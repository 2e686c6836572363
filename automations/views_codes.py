"""Discount codes: campaigns with how many codes were issued and redeemed, creating and
editing a campaign, and uploading the codes of a pool."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automations import selectors_engagement as selectors
from automations.forms_engagement import CampaignForm, PoolUploadForm
from automations.models import DiscountCampaign
from automations.services import codes as services
from growth.permissions import capability_required
from growth.roles import Capability

manage_codes = capability_required(Capability.MANAGE_JOURNEYS)


def _campaign(pk: int) -> DiscountCampaign:
    campaign = selectors.campaign_with_counts(pk=pk)
    if campaign is None:
        raise Http404(_("No such discount campaign."))
    return campaign


@manage_codes
@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "automations/codes/list.html", {"campaigns": list(selectors.campaign_list())}
    )


@manage_codes
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, initial={"pattern": "", "code_length": 8})
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(**form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Campaign “%(name)s” created.") % {"name": campaign.name})
            return redirect("discount_campaign", pk=campaign.pk)
    return render(
        request,
        "automations/codes/form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _detail(
    request: HttpRequest,
    campaign: DiscountCampaign,
    *,
    form: CampaignForm | None = None,
    upload: PoolUploadForm | None = None,
    report: services.ImportReport | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "campaign": campaign,
        "form": form or CampaignForm(instance=campaign),
        "upload": upload or PoolUploadForm(),
        "report": report,
        "codes": selectors.campaign_codes(campaign=campaign),
        "is_pool": campaign.kind == DiscountCampaign.Kind.POOL,
    }
    return render(request, "automations/codes/detail.html", context, status=status)


@manage_codes
@require_http_methods(["GET", "POST"])
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(pk)
    if request.method == "GET":
        return _detail(request, campaign)
    form = CampaignForm(request.POST, instance=DiscountCampaign.objects.get(pk=pk))
    if form.is_valid():
        try:
            services.campaign_update(campaign=campaign, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("discount_campaign", pk=pk)
    return _detail(request, campaign, form=form, status=400)


@manage_codes
@require_POST
def campaign_upload(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(pk)
    upload = PoolUploadForm(request.POST, request.FILES)
    if not upload.is_valid():
        return _detail(request, campaign, upload=upload, status=400)
    try:
        report = services.codes_import(campaign=campaign, lines=upload.lines())
    except ValidationError as error:
        upload.add_error(None, error)
        return _detail(request, campaign, upload=upload, status=400)
    # Fresh counts after the upload.
    return _detail(request, _campaign(pk), report=report)
