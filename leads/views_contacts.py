"""Contact pages: the list (search, filters, keyset pages, CSV export) and one contact's
record with its timeline and notes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from growth.csv_stream import csv_response
from growth.permissions import capability_required
from growth.roles import Capability
from leads import selectors
from leads.forms_contacts import ContactFilterForm, NoteForm, TimelineFilterForm
from leads.models import Contact
from leads.services.notes import note_add

view_contacts = capability_required(Capability.VIEW_CONTACTS)

DATE_FILTERS = ("created_from", "created_to", "seen_from", "seen_to")


def minute(value: datetime) -> str:
    """What the template's `date:"Y-m-d H:i"` shows, without the template machinery."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def url_maker(name: str) -> Callable[[int], str]:
    """`reverse(name, args=[pk])` for many pks at the cost of one reverse."""
    marker = "7" * 18  # an int no real id reaches, and a string no route contains
    prefix, _marker, suffix = reverse(name, args=[int(marker)]).partition(marker)
    return lambda pk: f"{prefix}{pk}{suffix}"


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One line of the list, ready to print: the page shows 50 of them, and formatting in
    the template (url tag, date filter) cost more than the query."""

    url: str
    name: str
    email: str
    phone: str
    country: str
    stage: str
    score: int
    source: str
    created: str
    last_seen: str


def contact_rows(contacts: list[Contact]) -> list[ContactRow]:
    detail_url, never = url_maker("contact_detail"), _("never")
    return [
        ContactRow(
            url=detail_url(c.pk),
            name=c.display_name,
            email=c.email,
            phone=c.phone,
            country=c.country,
            stage=c.lifecycle_stage,
            score=c.score,
            source=c.source_channel or "\N{EN DASH}",
            created=minute(c.created_at),
            last_seen=minute(c.last_seen_at) if c.last_seen_at else never,
        )
        for c in contacts
    ]


@view_contacts
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    form = ContactFilterForm(request.GET or None)
    filters = form.filters()
    sort, descending = form.sorting()
    page = selectors.contact_page(
        filters=filters, sort=sort, descending=descending, after=request.GET.get("after", "")
    )
    # What was typed, shown back as typed (as a bound widget would), valid or not.
    values = {name: form.data.get(name, "") for name in form.fields}
    context = {
        "form": form,
        "values": values,
        "dates": [(name, form.fields[name], values[name]) for name in DATE_FILTERS],
        "page": page,
        "rows": contact_rows(page.contacts),
        "filtered": filters.active,
        "paged": "after" in request.GET,
    }
    return render(request, "leads/contacts/list.html", context)


@view_contacts
@require_GET
def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The whole filtered list as CSV, streamed row by row: no page limit, flat memory."""
    form = ContactFilterForm(request.GET or None)
    sort, descending = form.sorting()
    rows = selectors.contact_export_rows(filters=form.filters(), sort=sort, descending=descending)
    # Column names stay English field names: they are what a CSV import reads back.
    return csv_response(filename="contacts.csv", header=selectors.EXPORT_COLUMNS, rows=rows)


def _contact_or_404(pk: int) -> Contact:
    try:
        return selectors.contact_get(pk=pk)
    except Contact.DoesNotExist as error:
        raise Http404(_("No contact with this number.")) from error


def _detail(
    request: HttpRequest, contact: Contact, note_form: NoteForm | None = None, status: int = 200
) -> HttpResponse:
    if contact.erased_at:
        # Nothing personal is left to show; say so rather than show empty fields.
        return render(request, "leads/contacts/erased.html", {"contact": contact}, status=status)
    timeline_form = TimelineFilterForm(request.GET or None)
    before = selectors.TimelineCursor.decode(request.GET.get("before", ""))
    timeline = selectors.contact_timeline(
        contact=contact, kinds=timeline_form.kinds(), before=before
    )
    context = {"contact": contact, "timeline": timeline, "timeline_form": timeline_form}
    if request.htmx and before:  # type: ignore[attr-defined]
        # "Load more": only the next items, appended in place of the button.
        response = render(request, "leads/contacts/_timeline_items.html", context, status=status)
    else:
        context |= {
            "record": selectors.contact_record(contact=contact),
            "note_form": note_form or NoteForm(),
            "kinds_ticked": request.GET.getlist("kind"),
            "continued": before is not None,
        }
        response = render(request, "leads/contacts/detail.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])  # same URL, partial or whole page
    return response


@view_contacts
@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_or_404(pk)
    if contact.merged_into_id:
        # A merged contact lives on in its survivor; old links and bookmarks land there.
        return redirect("contact_detail", pk=contact.merged_into_id)
    return _detail(request, contact)


@view_contacts
@require_POST
def contact_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_or_404(pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_add(contact=contact, author=request.user, body=form.cleaned_data["body"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Note added."))
            return redirect(reverse("contact_detail", args=[contact.pk]) + "#notes")
    return _detail(request, contact, note_form=form, status=400)
