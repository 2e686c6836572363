"""Ad-spend pages: the imported spend with filters and totals, the upload, the column mapping
of a generic file with its preview, an import's result (or its row report: nothing imported),
and other acquisition costs."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics import selectors_spend as selectors
from analytics import spend_csv
from analytics.forms_spend import MappingForm, OtherCostForm, SpendFilterForm, UploadForm
from analytics.models import OtherCost, SpendImport
from analytics.services import spend as services
from growth import navigation
from growth.currency import base_currency
from growth.permissions import capability_required
from growth.roles import Capability

manage_ad_spend = capability_required(Capability.MANAGE_AD_SPEND)
PAGE_ROWS = 100
IMPORT_ROWS_SHOWN = 500


@manage_ad_spend
@require_GET
def spend_list(request: HttpRequest) -> HttpResponse:
    form = SpendFilterForm(request.GET or None, channels=selectors.ad_spend_channels())
    filters = form.filters()
    rows = selectors.ad_spend_list(**filters)
    page = Paginator(rows, PAGE_ROWS).get_page(request.GET.get("page"))
    context = {
        "section": navigation.get("ad_spend"),
        "form": form,
        "filtered": any(filters.values()),
        "page": page,
        "totals": selectors.ad_spend_totals(rows),
        "imports": selectors.spend_import_recent(),
        "base_currency": base_currency(),
    }
    return render(request, "analytics/spend/list.html", context)


@manage_ad_spend
@require_http_methods(["GET", "POST"])
def spend_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            spend_import = services.spend_import_upload(
                file=form.cleaned_data["file"],
                layout=form.cleaned_data["layout"],
                channel=form.cleaned_data["channel"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _after_upload(request, spend_import)
    return render(request, "analytics/spend/upload.html", {"form": form})


def _after_upload(request: HttpRequest, spend_import: SpendImport) -> HttpResponse:
    """An ad platform's export is imported at once; a generic file goes to its mapping."""
    if (
        spend_import.status == SpendImport.Status.UPLOADED
        and spend_import.layout != SpendImport.Layout.GENERIC
    ):
        try:
            spend_import = services.spend_import_run(
                spend_import=spend_import, mapping=spend_import.mapping
            )
        except ValidationError as error:  # the export lacks a column its layout needs
            messages.error(request, " ".join(error.messages))
    return _result(request, spend_import)


def _result(request: HttpRequest, spend_import: SpendImport) -> HttpResponse:
    if spend_import.status == SpendImport.Status.DONE:
        messages.success(request, _done_message(spend_import))
        return redirect("ad_spend")
    if spend_import.status == SpendImport.Status.FAILED:
        messages.error(
            request, _("Nothing was imported: the file has problems, listed below by row.")
        )
    return redirect("ad_spend_import", pk=spend_import.pk)


def _done_message(spend_import: SpendImport) -> str:
    message = _("%(file)s: %(n)s rows imported.") % {
        "file": spend_import.filename,
        "n": spend_import.rows_imported,
    }
    skipped = spend_import.rows_total - spend_import.rows_imported
    if skipped:
        message += " " + _("%(n)s blank or totals rows skipped.") % {"n": skipped}
    return message


def _import_or_404(pk: int) -> SpendImport:
    try:
        return selectors.spend_import_get(pk=pk)
    except SpendImport.DoesNotExist as error:
        raise Http404(_("No ad-spend import with this number.")) from error


@manage_ad_spend
@require_http_methods(["GET", "POST"])
def spend_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Before the run: the mapping and its preview. After: what was imported, or the report."""
    spend_import = _import_or_404(pk)
    if spend_import.status == SpendImport.Status.UPLOADED:
        response = _mapping(request, spend_import)
    elif request.method == "POST" and spend_import.status == SpendImport.Status.FAILED:
        response = _run(request, spend_import, spend_import.mapping, spend_import.channel)
    else:
        rows = selectors.ad_spend_list(spend_import=spend_import)[:IMPORT_ROWS_SHOWN]
        context = {
            "import": spend_import,
            "rows": rows if spend_import.status == SpendImport.Status.DONE else [],
            "rows_shown": IMPORT_ROWS_SHOWN,
            "mapping": _mapping_labels(spend_import),
            "base_currency": base_currency(),
        }
        response = render(request, "analytics/spend/detail.html", context)
    patch_vary_headers(response, ["HX-Request"])  # same URL, partial or page
    return response


def _mapping(request: HttpRequest, spend_import: SpendImport) -> HttpResponse:
    form = MappingForm(
        request.POST or None,
        header=spend_import.header,
        mapping=spend_import.mapping,
        channel=spend_import.channel,
    )
    problems = spend_csv.mapping_errors(spend_import.header, form.mapping(), form.channel())
    wants_import = request.method == "POST" and request.POST.get("action") == "import"
    if wants_import and form.is_valid() and not problems:
        return _run(request, spend_import, form.mapping(), form.channel())
    context = {
        "import": spend_import,
        "form": form,
        "problems": problems,
        "headings": [spend_csv.TARGET_LABELS[t] for t in spend_csv.PREVIEW_TARGETS],
        "preview": spend_csv.preview(
            header=spend_import.header,
            sample=spend_import.sample,
            layout=spend_import.layout,
            mapping=form.mapping(),
            channel=form.channel(),
            base_currency=base_currency(),
        ),
        "examples": _examples(spend_import),
        "base_currency": base_currency(),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "analytics/spend/_preview.html", context)
    return render(request, "analytics/spend/mapping.html", context)


def _run(
    request: HttpRequest, spend_import: SpendImport, mapping: dict[str, str], channel: str
) -> HttpResponse:
    try:
        spend_import = services.spend_import_run(
            spend_import=spend_import, mapping=mapping, channel=channel
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("ad_spend_import", pk=spend_import.pk)
    return _result(request, spend_import)


def _examples(spend_import: SpendImport, per_column: int = 3) -> dict[str, str]:
    """A few values of each column, so the person sees what a column holds."""
    examples: dict[str, list[str]] = {column: [] for column in spend_import.header}
    for sample in spend_import.sample:
        for column, cell in zip(spend_import.header, sample["cells"], strict=False):
            if cell.strip() and len(examples[column]) < per_column:
                examples[column].append(cell.strip())
    return {column: " · ".join(values) for column, values in examples.items()}


def _mapping_labels(spend_import: SpendImport) -> list[tuple[str, str]]:
    """(what, where it came from) for the import's summary."""
    mapping = spend_import.mapping
    labels = []
    for target in spend_csv.TARGETS:
        column = mapping.get(target, "")
        if column:
            source = _("column “%(column)s”") % {"column": column}
        elif target == "channel":
            source = spend_import.channel or _("not given")
        elif target == "currency":
            from_header = spend_csv.header_currency(mapping.get("cost", ""))
            source = from_header or _("%(base)s, the reporting currency") % {
                "base": base_currency()
            }
        else:
            source = _("not in the file")
        labels.append((str(spend_csv.TARGET_LABELS[target]), source))
    return labels


# --- Other costs -----------------------------------------------------------------------------


@manage_ad_spend
@require_http_methods(["GET", "POST"])
def other_costs(request: HttpRequest) -> HttpResponse:
    form = OtherCostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.other_cost_save(**form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Cost added."))
            return redirect("ad_spend_other_costs")
    context = {
        "form": form,
        "costs": selectors.other_cost_list(),
        "total": selectors.other_cost_total(),
        "base_currency": base_currency(),
    }
    return render(request, "analytics/spend/other_costs.html", context)


def _add_errors(form: OtherCostForm, error: ValidationError) -> None:
    fields = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for name, errors in fields.items():
        for message in errors:
            form.add_error(name if name in form.fields else None, message)


@manage_ad_spend
@require_POST
def other_cost_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.other_cost_delete(other_cost=get_object_or_404(OtherCost, pk=pk))
    messages.success(request, _("Cost deleted."))
    return redirect("ad_spend_other_costs")
