"""Message template pages: list, create, edit per language with a live preview as any
contact (a sandboxed frame) and an SMS segment counter, and a test send."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from automations.forms import LOCALES, ContentForm, TemplateForm, TestSendForm, template_initial
from automations.models import MessageTemplate
from automations.models.delivery import MESSAGE_CHANNELS, Channel, Purpose
from automations.rendering import (
    NAMES,
    TemplateProblem,
    content_for,
    message_context,
    message_render,
    sample_context,
)
from automations.services import templates as services
from automations.services.deliveries import delivery_schedule
from automations.sms_segments import gsm7_segments
from growth.permissions import capability_required
from growth.roles import Capability
from leads.models import Contact

manage_templates = capability_required(Capability.MANAGE_TEMPLATES)


def _apply_errors(error: ValidationError, *forms: Any) -> None:
    for field, problems in error.message_dict.items():
        target = next((f for f in forms if field in f.fields), forms[0])
        for problem in problems:
            target.add_error(field if field in target.fields else None, problem)


@manage_templates
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    channel = request.GET.get("channel", "")
    rows = MessageTemplate.objects.annotate(languages=Count("contents")).order_by("name")
    if channel in dict(MESSAGE_CHANNELS):
        rows = rows.filter(channel=channel)
    return render(
        request,
        "automations/templates/list.html",
        {"templates": list(rows), "channel": channel, "channels": MESSAGE_CHANNELS},
    )


@manage_templates
@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    channel = request.GET.get("channel") or request.POST.get("channel") or Channel.EMAIL
    if channel not in dict(MESSAGE_CHANNELS):
        raise Http404(_("No such channel."))
    data = request.POST if request.method == "POST" else None
    form = TemplateForm(data, initial={"channel": channel, "purpose": Purpose.MARKETING})
    content = ContentForm(data, initial={"locale": "en"})
    status = 200
    if data is not None:
        if form.is_valid() and content.is_valid():
            try:
                template = services.template_create(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    channel=channel,
                    purpose=form.cleaned_data["purpose"],
                    default_locale=content.cleaned_data["locale"],
                    description=form.cleaned_data["description"],
                    topic=form.cleaned_data["topic"],
                    parts=content.parts(),
                )
            except ValidationError as error:
                _apply_errors(error, form, content)
            else:
                messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
                return redirect("template_edit", pk=template.pk)
        status = 400
    return render(
        request,
        "automations/templates/form.html",
        _editor_context(None, form, content, channel),
        status=status,
    )


def _editor_context(
    template: MessageTemplate | None,
    form: TemplateForm,
    content: ContentForm,
    channel: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "template": template,
        "form": form,
        "content": content,
        "channel": channel,
        "is_sms": channel == Channel.SMS,
        "names": NAMES,
        "locales": LOCALES,
        "test_form": TestSendForm(),
        **extra,
    }


@manage_templates
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk)
    contents = {c.locale: c for c in template.contents.all()}
    locale = request.GET.get("locale") or request.POST.get("locale") or template.default_locale
    if locale not in dict(LOCALES):
        raise Http404(_("No such language."))
    existing = contents.get(locale)
    data = request.POST if request.method == "POST" else None
    form = TemplateForm(data, initial=template_initial(template))
    content = ContentForm(
        data,
        initial={
            "locale": locale,
            **({p: getattr(existing, p) for p in services.PARTS} if existing else {}),
        },
    )
    status, conflict = 200, None
    if data is not None:
        if form.is_valid() and content.is_valid():
            try:
                services.template_update(
                    template=template,
                    version=form.cleaned_data.get("version") or 0,
                    actor=request.user,
                    locale=content.cleaned_data["locale"],
                    parts=content.parts(),
                    name=form.cleaned_data["name"],
                    purpose=form.cleaned_data["purpose"],
                    description=form.cleaned_data["description"],
                    topic=form.cleaned_data["topic"],
                    default_locale=form.cleaned_data["default_locale"] or template.default_locale,
                )
            except services.EditConflict as edit:
                conflict = edit.current
                form.add_error(
                    None,
                    _(
                        "Someone saved this template while you were editing it. Your changes "
                        "are not saved yet: check the current version, then save again to "
                        "replace it."
                    ),
                )
                kept = data.copy()
                kept["version"] = str(conflict.version)
                form = TemplateForm(kept)
                form.is_valid()
                status = 409
            except ValidationError as error:
                _apply_errors(error, form, content)
                status = 400
            else:
                messages.success(request, _("Template “%(name)s” saved.") % {"name": template.name})
                return redirect(f"{request.path}?locale={locale}")
        else:
            status = 400
    context = _editor_context(
        template,
        form,
        content,
        template.channel,
        locale=locale,
        contents=contents,
        conflict=conflict,
        is_new_locale=existing is None,
    )
    return render(request, "automations/templates/form.html", context, status=status)


@manage_templates
@require_GET
@xframe_options_sameorigin
def template_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The rendered message as one contact (or the sample contact) would get it, for the
    editor's sandboxed frame."""
    template = get_object_or_404(MessageTemplate, pk=pk)
    content = content_for(template, request.GET.get("locale", template.default_locale))
    if content is None:
        raise Http404(_("This template has no content yet."))
    contact_id = request.GET.get("contact", "")
    if contact_id:
        if not contact_id.isdigit():
            raise Http404(_("No contact with this number."))
        contact = get_object_or_404(Contact, pk=contact_id, merged_into__isnull=True)
        context = message_context(contact)
    else:
        context = sample_context()
    try:
        rendered = message_render(content, context)
    except TemplateProblem as problem:
        return render(
            request, "automations/templates/preview_error.html", {"problem": problem}, status=422
        )
    response = render(
        request,
        "automations/templates/preview.html",
        {"rendered": rendered, "is_sms": template.channel == Channel.SMS},
    )
    # The marketer's HTML runs in a frame without scripts, forms or same-origin rights.
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'"
    )
    return response


@manage_templates
@require_POST
def sms_count(request: HttpRequest) -> HttpResponse:
    """The live counter under the SMS text: encoding, segments, characters."""
    text = request.POST.get("text", "")
    try:
        rendered = message_render(TemplateContentLike(text), sample_context()).text
    except TemplateProblem:
        rendered = text
    encoding, segments = gsm7_segments(rendered)
    return render(
        request,
        "automations/templates/_sms_count.html",
        {"encoding": encoding, "segments": segments, "length": len(rendered)},
    )


class TemplateContentLike:
    """Just the text part, for rendering a draft that is not saved."""

    subject = preheader = html = ""

    def __init__(self, text: str) -> None:
        self.text = text


@manage_templates
@require_POST
def template_test_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the template to an address of the user's choosing, rendered as a contact."""
    template = get_object_or_404(MessageTemplate, pk=pk)
    form = TestSendForm(request.POST)
    back = redirect("template_edit", pk=template.pk)
    if not form.is_valid():
        messages.error(request, _("Say where to send the test."))
        return back
    contact = None
    if form.cleaned_data.get("contact"):
        contact = Contact.objects.filter(
            pk=form.cleaned_data["contact"], merged_into__isnull=True
        ).first()
        if contact is None:
            messages.error(request, _("No contact with this number."))
            return back
    to, wrong_address = _test_address(template.channel, form.cleaned_data["to"])
    if wrong_address:
        messages.error(request, wrong_address)
        return back
    content = content_for(template, contact.locale if contact else template.default_locale)
    if content is None:
        messages.error(request, _("This template has no content yet."))
        return back
    context = message_context(contact) if contact else sample_context()
    try:
        rendered = message_render(content, context)
    except TemplateProblem as problem:
        messages.error(request, problem.message)
        return back
    now = timezone.now()
    delivery = delivery_schedule(
        key=f"test:{template.pk}:{request.user.pk}:{now.timestamp()}",
        contact=contact,
        channel=template.channel,
        purpose=Purpose.TRANSACTIONAL,  # a test goes now, whatever the hour and the caps
        due_at=now,
        subject=f"[{_('Test')}] {rendered.subject}" if rendered.subject else "",
        text=rendered.text,
        html=rendered.html,
        origin="test",
        template=template,
        to_address=to,
    )
    messages.success(
        request,
        _("Test queued for %(to)s; it is listed under Deliveries.") % {"to": delivery.to_address},
    )
    return back


def _test_address(channel: str, raw: str) -> tuple[str, str]:
    """The address normalised as sends use it, or a problem to show."""
    from django.core.exceptions import ValidationError as Invalid
    from django.core.validators import validate_email

    raw = raw.strip()
    if channel == Channel.EMAIL:
        try:
            validate_email(raw)
        except Invalid:
            return "", _("“%(to)s” is not an e-mail address.") % {"to": raw}
        return raw.lower(), ""
    phone = raw.replace(" ", "").replace("-", "")
    if not (phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16):
        return "", _("Give the number with its country code, e.g. +4915112345678.")
    return phone, ""


@manage_templates
@require_http_methods(["GET", "POST"])
def topic_list(request: HttpRequest) -> HttpResponse:
    """The topics contacts choose from on their preferences page."""
    from automations.forms import TopicForm
    from automations.models import Topic

    form = TopicForm(request.POST or None)
    status = 200
    if request.method == "POST":
        toggle = request.POST.get("toggle")
        if toggle:
            topic = get_object_or_404(Topic, pk=toggle)
            topic.active = not topic.active
            topic.save(update_fields=["active"])
            return redirect("template_topics")
        if form.is_valid():
            try:
                services.topic_save(
                    name=form.cleaned_data["name"], description=form.cleaned_data["description"]
                )
            except ValidationError as error:
                _apply_errors(error, form)
            else:
                messages.success(request, _("Topic added."))
                return redirect("template_topics")
        status = 400
    topics = Topic.objects.annotate(out=Count("opt_outs"), used=Count("templates", distinct=True))
    return render(
        request,
        "automations/templates/topics.html",
        {"form": form, "topics": list(topics)},
        status=status,
    )
