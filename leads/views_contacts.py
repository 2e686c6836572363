"""Contact pages: the list (search, filters, keyset pages, CSV export, adding everyone it
shows to a static list), a rep's own contacts, and one contact's record with its timeline
and notes. A contact's pages open for whoever sees the list, and for a rep only on the
contacts assigned to it (`leads.access`): anyone else's is a 404."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from growth import audit
from growth.csv_stream import csv_response
from growth.formats.localized import local_datetime
from growth.models import AuditEvent
from growth.permissions import capability_required
from growth.roles import Capability
from leads import access, panels, selectors
from leads.forms_contacts import AddToListForm, ContactFilterForm, NoteForm, TimelineFilterForm
from leads.models import Contact
from leads.selectors_segments import contact_count
from leads.services.notes import note_add
from leads.services.segments import static_list_fill_filtered

view_contacts = capability_required(Capability.VIEW_CONTACTS)
manage_segments = capability_required(Capability.MANAGE_SEGMENTS)
work_queue = capability_required(Capability.WORK_QUEUE)

DATE_FILTERS = ("created_from", "created_to", "seen_from", "seen_to")


def minute(value: datetime) -> str:
    """What the template's `date:"SHORT_DATETIME_FORMAT"` shows, without the template
    machinery."""
    return local_datetime(value)


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
    audit.record(
        AuditEvent.Action.EXPORT,
        target="contacts.csv",
        request=request,
        query=request.GET.urlencode(),
    )
    # Column names stay English field names: they are what a CSV import reads back.
    return csv_response(filename="contacts.csv", header=selectors.EXPORT_COLUMNS, rows=rows)


# --- A rep's own contacts -------------------------------------------------------------------

MINE_PAGE_SIZE = 50


def _after_id(raw: str) -> int | None:
    """The "Next" link's last id; anything else starts from the top."""
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


@work_queue
@require_GET
def my_contacts(request: HttpRequest) -> HttpResponse:
    """The contacts assigned to the user (for a rep: those of its cadence enrollments),
    newest first, searched by name, e-mail or phone and by stage, by keyset pages."""
    form = ContactFilterForm(request.GET or None)
    chosen = form.filters()
    filters = selectors.ContactFilters(q=chosen.q, stage=chosen.stage)  # what the page offers
    after = _after_id(request.GET.get("after", ""))
    contacts = (
        selectors.contact_list(filters=filters)
        .filter(access.assigned_contacts(request.user))
        .only(*selectors.LIST_COLUMNS)
        .order_by("-id")
    )
    if after is not None:
        contacts = contacts.filter(id__lt=after)
    found = list(contacts[: MINE_PAGE_SIZE + 1])
    page = found[:MINE_PAGE_SIZE]
    context = {
        "form": form,
        "q": form.data.get("q", ""),
        "stage": form.data.get("stage", ""),
        "rows": contact_rows(page),
        "next_after": page[-1].pk if len(found) > MINE_PAGE_SIZE else None,
        "filtered": filters.active,
        "paged": after is not None,
    }
    return render(request, "leads/contacts/mine.html", context)


# --- Adding the listed contacts to a static list -------------------------------------------

# The list's filters (not its sort or page): what the contacts to add are chosen by.
FILTER_NAMES = tuple(name for name in ContactFilterForm.base_fields if name != "sort")
# The filter form labels both date ranges' ends "to"; a summary needs to say of what.
SUMMARY_LABELS = {
    "created_to": gettext_lazy("Created to"),
    "seen_to": gettext_lazy("Last seen to"),
}


def _filter_summary(form: ContactFilterForm) -> list[tuple[str, str]]:
    """(label, value as the person chose it) of each filter that applies."""
    summary = []
    for name in FILTER_NAMES:
        value = form.cleaned_data.get(name)
        if not value:
            continue
        field = form.fields[name]
        if isinstance(field, forms.ChoiceField):
            value = dict(field.choices).get(value, value)  # type: ignore[arg-type]
        elif isinstance(value, date):
            value = value.isoformat()
        summary.append((str(SUMMARY_LABELS.get(name, field.label)), str(value)))
    return summary


def _added_message(*, name: str, created: bool, added: int, already: int) -> str:
    n = number_format(added, force_grouping=True)
    if created:
        return ngettext(
            "Static list “%(name)s” created with %(n)s contact.",
            "Static list “%(name)s” created with %(n)s contacts.",
            added,
        ) % {"name": name, "n": n}
    message = ngettext(
        "%(n)s contact added to “%(name)s”.", "%(n)s contacts added to “%(name)s”.", added
    ) % {"name": name, "n": n}
    if already:
        message += " " + ngettext(
            "%(n)s was in it already.", "%(n)s were in it already.", already
        ) % {"n": number_format(already, force_grouping=True)}
    return message


@manage_segments
@require_http_methods(["GET", "POST"])
def contact_list_add(request: HttpRequest) -> HttpResponse:
    """Everyone the list shows for its filters into a static list, existing or new.

    GET with the list's query string asks which list; GET with the list chosen asks again,
    with the count ("Add 1,234 contacts to “VIP prospects”?"); POST adds them, set-based,
    and goes to the list. The filters travel as the list's own query parameters."""
    data = request.POST if request.method == "POST" else request.GET
    filter_form = ContactFilterForm(data)
    filters = filter_form.filters()
    chosen = "segment" in data or "name" in data
    choice = AddToListForm(data if chosen else None)
    if request.method == "POST" and choice.is_valid():
        try:
            result = static_list_fill_filtered(
                filters=filters,
                segment=choice.cleaned_data["segment"],
                name=choice.cleaned_data["name"],
                actor=request.user,
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "empty":
                pass  # nobody matches (any more): the page says so in its own words
            elif hasattr(error, "error_dict"):  # the new list's name, taken meanwhile
                for field, errors in error.message_dict.items():
                    for message in errors:
                        choice.add_error(field if field in choice.fields else None, message)
            else:
                choice.add_error(None, error)
        else:
            messages.success(
                request,
                _added_message(
                    name=result.segment.name,
                    created=result.created,
                    added=result.added,
                    already=result.already,
                ),
            )
            return redirect("segment_detail", pk=result.segment.pk)
    count = contact_count(filters=filters)
    valid = chosen and choice.is_valid()
    confirm = request.method == "GET" and valid and count > 0
    failed = request.method == "POST" or (chosen and not valid)
    kept = [(name, value) for name in FILTER_NAMES if (value := data.get(name, ""))]
    sort = [("sort", data["sort"])] if data.get("sort") else []
    context: dict[str, Any] = {
        "count": count,
        "choice": choice,
        "confirm": confirm,
        "segment": choice.cleaned_data["segment"] if confirm else None,
        "new_name": choice.cleaned_data["name"] if confirm else "",
        "summary": _filter_summary(filter_form),
        "kept": kept,
        "filters_query": urlencode(kept),
        "back_query": urlencode(kept + sort),
    }
    return render(
        request, "leads/contacts/add_to_list.html", context, status=400 if failed else 200
    )


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
            "panels": panels.registered(),
        }
        response = render(request, "leads/contacts/detail.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])  # same URL, partial or whole page
    return response


@access.contact_required
@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_or_404(pk)
    if contact.merged_into_id:
        # A merged contact lives on in its survivor; old links and bookmarks land there.
        return redirect("contact_detail", pk=contact.merged_into_id)
    return _detail(request, contact)


@access.contact_required
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
