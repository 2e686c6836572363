"""Pages of the CSV import: the list, the upload, the mapping with its preview, the progress
(polled with htmx while the load runs) and the errors as CSV."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from growth import audit
from growth.csv_stream import csv_response
from growth.models import AuditEvent
from growth.roles import Capability, permission_name, roles_with
from leads.csv_import import parsing, selectors, services
from leads.csv_import.forms import MappingForm, UploadForm
from leads.models import ContactImport

# Importing contacts is a marketer's and an admin's job: either capability opens the pages.
IMPORT_CAPABILITIES = (Capability.MANAGE_SEGMENTS, Capability.MANAGE_DATA)
STATUS_TARGET = "import-status"


def may_import(user: Any) -> bool:
    return any(user.has_perm(permission_name(c)) for c in IMPORT_CAPABILITIES)


def import_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sign in first, then marketer or admin, else the 403 page naming those roles."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not may_import(request.user):
            roles = {str(r.label): None for c in IMPORT_CAPABILITIES for r in roles_with(c)}
            raise PermissionDenied(
                _("This page needs the %(roles)s role.") % {"roles": " / ".join(roles)}
            )
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _import_or_404(pk: int) -> ContactImport:
    try:
        return selectors.contact_import_get(pk=pk)
    except ContactImport.DoesNotExist as error:
        raise Http404(_("No import with this number.")) from error


@import_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/imports/list.html", {"imports": selectors.contact_import_list()})


@import_required
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            contact_import = services.contact_import_create(
                filename=upload.name or "contacts.csv",
                data=b"".join(upload.chunks()),
                uploaded_by=request.user,
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("import_detail", pk=contact_import.pk)
    limit = parsing.megabytes(parsing.MAX_FILE_BYTES)
    return render(request, "leads/imports/new.html", {"form": form, "limit": limit})


def _mapping_page(
    request: HttpRequest, contact_import: ContactImport, form: MappingForm
) -> HttpResponse:
    preview = selectors.import_preview(contact_import=contact_import, mapping=form.mapping())
    examples = selectors.import_examples(contact_import=contact_import)
    columns = [
        (column, field, examples[index]) for index, (column, field) in enumerate(form.columns())
    ]
    context = {"import": contact_import, "form": form, "preview": preview, "columns": columns}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "leads/imports/_preview.html", context)
    return render(request, "leads/imports/mapping.html", context)


def _status_context(contact_import: ContactImport) -> dict[str, Any]:
    return {
        "import": contact_import,
        "errors": selectors.import_errors_first(contact_import=contact_import),
        "errors_shown": selectors.ERRORS_SHOWN,
        "resumable": services.contact_import_resumable(contact_import),
    }


@import_required
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Before the start: the mapping and its preview. After: progress, counts, errors."""
    contact_import = _import_or_404(pk)
    if request.method == "POST":
        response = _act(request, contact_import)
    elif contact_import.status == ContactImport.Status.UPLOADED:
        form = MappingForm(
            header=contact_import.header,
            mapping=contact_import.mapping,
            kind=contact_import.kind,
        )
        response = _mapping_page(request, contact_import, form)
    else:
        partial = request.htmx and request.htmx.target == STATUS_TARGET  # type: ignore[attr-defined]
        context = _status_context(contact_import)
        if not partial:
            context["mapping"] = selectors.import_mapping_labels(contact_import=contact_import)
        template = "leads/imports/_status.html" if partial else "leads/imports/detail.html"
        response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])  # same URL, partial or page
    return response


def _act(request: HttpRequest, contact_import: ContactImport) -> HttpResponse:
    action = request.POST.get("action", "")
    if action == "resume":
        try:
            services.contact_import_resume(contact_import=contact_import)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Import resumed: it carries on where it stopped."))
        return redirect("import_detail", pk=contact_import.pk)
    if contact_import.status != ContactImport.Status.UPLOADED:
        messages.error(request, _("This import has already been started."))
        return redirect("import_detail", pk=contact_import.pk)
    form = MappingForm(
        request.POST,
        header=contact_import.header,
        mapping=contact_import.mapping,
        kind=contact_import.kind,
    )
    if action == "start" and form.is_valid():
        try:
            services.contact_import_start(contact_import=contact_import, mapping=form.mapping())
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Import started. This page shows its progress."))
            return redirect("import_detail", pk=contact_import.pk)
    return _mapping_page(request, contact_import, form)


@import_required
@require_GET
def import_errors_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The rows that failed, as typed in the file: personal data leaving Growth, so it is
    recorded in the audit log like every other export."""
    contact_import = _import_or_404(pk)
    rows = selectors.import_error_rows(contact_import=contact_import)
    audit.record(
        AuditEvent.Action.EXPORT,
        target=f"import #{contact_import.pk} {contact_import.filename}: errors.csv",
        request=request,
        import_id=contact_import.pk,
        filename=contact_import.filename,
        rows=contact_import.failed_count,
    )
    return csv_response(
        filename=f"import-{pk}-errors.csv", header=selectors.ERROR_COLUMNS, rows=rows
    )
