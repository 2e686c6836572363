"""Saving message templates: every part is compiled and rendered against a sample contact
before anything is written, so a broken template never reaches a send."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from automations.models import MessageTemplate, TemplateContent, Topic
from automations.models.delivery import Channel, Purpose
from automations.rendering import TemplateProblem, message_render, sample_context
from automations.sms_segments import gsm7_segments
from growth.edits import EditConflict

SMS_MAX_SEGMENTS = 10
PARTS = ("subject", "preheader", "html", "text")


def content_clean(channel: str, parts: dict[str, str], purpose: str = "") -> dict[str, str]:
    """The parts of one language, checked; ValidationError keyed by part."""
    parts = {p: (parts.get(p) or "").strip() for p in PARTS}
    errors: dict[str, list[str]] = {}
    if channel == Channel.SMS:
        parts.update(subject="", preheader="", html="")
        if not parts["text"]:
            errors["text"] = [_("Write the message.")]
    else:
        if not parts["subject"]:
            errors["subject"] = [_("An e-mail needs a subject.")]
        if not parts["html"] and not parts["text"]:
            errors["html"] = [_("Write the HTML part, the text part, or both.")]
        elif purpose == Purpose.MARKETING:
            for part in ("html", "text"):
                if parts[part] and "unsubscribe_url" not in parts[part]:
                    errors[part] = [
                        _(
                            "A marketing e-mail must let people unsubscribe: add a link to "
                            "{{ unsubscribe_url }}."
                        )
                    ]
    for part, source in parts.items():
        if part in errors or not source:
            continue
        try:
            message_render(TemplateContent(**{part: source}), sample_context())
        except TemplateProblem as problem:
            message = problem.message.split(": ", 1)[-1]
            if problem.line:
                message = _("Line %(line)s: %(problem)s") % {
                    "line": problem.line,
                    "problem": message,
                }
            errors[part] = [message]
    if channel == Channel.SMS and "text" not in errors:
        rendered = message_render(TemplateContent(text=parts["text"]), sample_context()).text
        _encoding, segments = gsm7_segments(rendered)
        if segments > SMS_MAX_SEGMENTS:
            errors["text"] = [
                _("Too long: %(n)s SMS segments for a sample contact (at most %(max)s).")
                % {"n": segments, "max": SMS_MAX_SEGMENTS}
            ]
    if errors:
        raise ValidationError(errors)
    return parts


@transaction.atomic
def template_create(
    *,
    actor: Any,
    name: str,
    channel: str,
    purpose: str,
    default_locale: str,
    description: str = "",
    topic: Any = None,
    parts: dict[str, str],
) -> MessageTemplate:
    cleaned = content_clean(channel, parts, purpose)
    if MessageTemplate.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": [_("A template with this name exists already.")]})
    template = MessageTemplate.objects.create(
        name=name.strip(),
        channel=channel,
        purpose=purpose,
        default_locale=default_locale,
        description=description,
        topic=topic,
        updated_by=actor,
    )
    TemplateContent.objects.create(template=template, locale=default_locale, **cleaned)
    return template


@transaction.atomic
def template_update(
    *,
    template: MessageTemplate,
    version: int,
    actor: Any,
    locale: str,
    parts: dict[str, str],
    **fields: Any,
) -> MessageTemplate:
    """Save the template's settings and its content in `locale` (added when new). The
    second of two people editing at once gets EditConflict, not a silent overwrite."""
    current = MessageTemplate.objects.select_for_update().get(pk=template.pk)
    if current.version != version:
        raise EditConflict(current)
    cleaned = content_clean(current.channel, parts, fields.get("purpose", current.purpose))
    name = fields.get("name", current.name).strip()
    if MessageTemplate.objects.filter(name__iexact=name).exclude(pk=current.pk).exists():
        raise ValidationError({"name": [_("A template with this name exists already.")]})
    for field in ("name", "purpose", "description", "default_locale", "topic"):
        if field in fields:
            setattr(current, field, fields[field].strip() if field == "name" else fields[field])
    current.version += 1
    current.updated_by = actor
    current.save()
    TemplateContent.objects.update_or_create(template=current, locale=locale, defaults=cleaned)
    return current


@transaction.atomic
def template_locale_remove(*, template: MessageTemplate, locale: str) -> None:
    if locale == template.default_locale:
        raise ValidationError(_("The default language cannot be removed."))
    template.contents.filter(locale=locale).delete()


def topic_save(*, name: str, description: str = "", topic: Topic | None = None) -> Topic:
    """Create a topic, or rename one; names are unique whatever their case."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Give the topic a name.")]})
    clash = Topic.objects.filter(name__iexact=name)
    if topic is not None:
        clash = clash.exclude(pk=topic.pk)
    if clash.exists():
        raise ValidationError({"name": [_("There is a topic with this name already.")]})
    topic = topic or Topic()
    topic.name, topic.description = name, description.strip()
    topic.save()
    return topic
