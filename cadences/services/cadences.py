"""Designing cadences: a draft of steps, validated field by field, published as an
immutable version; the shipped cadences of the seed articles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from automations.models import MessageTemplate, TemplateContent
from automations.models.delivery import Channel, Purpose
from cadences.models import AUTOMATIC_KINDS, Cadence, CadenceVersion, Step, StepKind
from growth.edits import EditConflict

MAX_STEPS = 60
MAX_DAY = 365
EMAIL_KINDS = {StepKind.EMAIL_AUTO, StepKind.EMAIL_MANUAL}
SMS_KINDS = {StepKind.SMS_AUTO, StepKind.SMS_MANUAL}
RULE_KEYS = {"sources", "personas", "segments", "min_score", "countries"}


def _time(value: Any, field: str, errors: dict[str, str]) -> time | None:
    if isinstance(value, time):
        return value
    try:
        hour, minute = (int(part) for part in str(value).split(":"))
        return time(hour, minute)
    except (TypeError, ValueError):
        errors[field] = _("Give a time as HH:MM, e.g. 09:00.")
        return None


def steps_clean(raw: Any) -> list[dict[str, Any]]:
    """The draft's steps, checked: errors keyed "steps.<n>.<field>" (n from 1) so the
    editor can show each next to its field. Returns them normalised, in order."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError({"steps": _("A cadence needs at least one step.")})
    if len(raw) > MAX_STEPS:
        raise ValidationError({"steps": _("Keep a cadence under %(n)d steps.") % {"n": MAX_STEPS}})
    templates = {
        t.pk: t
        for t in MessageTemplate.objects.filter(
            pk__in=[s.get("template") for s in raw if isinstance(s, dict) and s.get("template")]
        )
    }
    errors: dict[str, str] = {}
    clean: list[dict[str, Any]] = []
    last_day = 0
    for n, step in enumerate(raw, start=1):
        where = f"steps.{n}"
        if not isinstance(step, dict):
            errors[where] = _("Each step is a set of fields.")
            continue
        kind = step.get("kind")
        if kind not in StepKind.values:
            errors[f"{where}.kind"] = _("Choose what kind of touch this is.")
        try:
            day = int(step.get("day", -1))
        except (TypeError, ValueError):
            day = -1
        if not 0 <= day <= MAX_DAY:
            errors[f"{where}.day"] = _(
                "The day is a whole number from 0 (the day the lead enters) to %(n)d."
            ) % {"n": MAX_DAY}
        elif day < last_day:
            errors[f"{where}.day"] = _("Steps go in order: this one comes before the step above.")
        else:
            last_day = day
        opens = _time(step.get("from", "09:00"), f"{where}.from", errors)
        closes = _time(step.get("until", "18:00"), f"{where}.until", errors)
        if opens and closes and opens >= closes:
            errors[f"{where}.until"] = _("The window must end after it starts.")
        template_id = step.get("template") or None
        template = (
            templates.get(int(str(template_id))) if str(template_id or "").isdigit() else None
        )
        if template_id and template is None:
            errors[f"{where}.template"] = _("That template no longer exists; choose another.")
        if kind in AUTOMATIC_KINDS and template is None and f"{where}.template" not in errors:
            errors[f"{where}.template"] = _("An automatic step sends a template: choose one.")
        if template is not None:
            wanted = (
                Channel.EMAIL if kind in EMAIL_KINDS else Channel.SMS if kind in SMS_KINDS else None
            )
            if wanted is None:
                errors[f"{where}.template"] = _("Only e-mail and SMS steps use a template.")
            elif template.channel != wanted:
                errors[f"{where}.template"] = _("This step needs an %(channel)s template.") % {
                    "channel": Channel(wanted).label
                }
        script = str(step.get("script", ""))[:5000]
        instructions = str(step.get("instructions", ""))[:2000]
        clean.append(
            {
                "kind": kind,
                "day": day,
                "from": opens.strftime("%H:%M") if opens else "09:00",
                "until": closes.strftime("%H:%M") if closes else "18:00",
                "template": template.pk if template else None,
                "script": script,
                "instructions": instructions,
            }
        )
    if errors:
        raise ValidationError(errors)
    return clean


def rules_clean(raw: Any) -> dict[str, Any]:
    """Which new MQLs a cadence takes: any of these sources / personas / segments /
    countries, and a score of at least min_score. Empty: every MQL."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict) or set(raw) - RULE_KEYS:
        raise ValidationError(
            {"rules": _("Unknown rule; use sources, personas, segments, countries and min_score.")}
        )
    clean: dict[str, Any] = {}
    for key in ("sources", "countries"):
        values = raw.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValidationError({f"rules.{key}": _("Give a list of names.")})
        if values:
            clean[key] = [v.strip().upper() if key == "countries" else v.strip() for v in values]
    for key in ("personas", "segments"):
        values = raw.get(key) or []
        if not isinstance(values, list) or not all(str(v).isdigit() for v in values):
            raise ValidationError({f"rules.{key}": _("Choose from the list.")})
        if values:
            clean[key] = [int(v) for v in values]
    if raw.get("min_score") not in (None, ""):
        try:
            clean["min_score"] = int(raw["min_score"])
        except (TypeError, ValueError):
            raise ValidationError({"rules.min_score": _("The score is a whole number.")}) from None
    return clean


def cadence_save(
    *,
    cadence: Cadence | None,
    name: str,
    description: str = "",
    steps: Any,
    rules: Any = None,
    assignment: str = Cadence.Assignment.ROUND_ROBIN,
    rank: int = 100,
    weight: int = 100,
    team: Any = None,
    version: int | None = None,
) -> Cadence:
    """Create or edit a cadence's draft. `version` is what the editor loaded: a save over
    someone else's newer save is refused (EditConflict) rather than silently lost."""
    errors: dict[str, Any] = {}
    name = name.strip()
    if not name:
        errors["name"] = _("Give the cadence a name reps will recognise.")
    elif (
        Cadence.objects.filter(name__iexact=name).exclude(pk=cadence.pk if cadence else 0).exists()
    ):
        errors["name"] = _("Another cadence has this name.")
    if assignment not in Cadence.Assignment.values:
        errors["assignment"] = _("Choose how leads are assigned.")
    if not 0 < int(weight) <= 1000:
        errors["weight"] = _("The weight is from 1 to 1000.")
    try:
        clean_steps = steps_clean(steps)
    except ValidationError as problem:
        errors.update(problem.message_dict)
    try:
        clean_rules = rules_clean(rules)
    except ValidationError as problem:
        errors.update(problem.message_dict)
    if errors:
        raise ValidationError(errors)
    fields = {
        "name": name,
        "description": description.strip(),
        "draft_steps": clean_steps,
        "rules": clean_rules,
        "assignment": assignment,
        "rank": int(rank),
        "weight": int(weight),
        "team": team,
    }
    if cadence is None:
        return Cadence.objects.create(**fields)
    with transaction.atomic():
        query = Cadence.objects.filter(pk=cadence.pk)
        if version is not None:
            query = query.filter(version=version)
        if not query.update(**fields, version=F("version") + 1):
            raise EditConflict(Cadence.objects.get(pk=cadence.pk))
    cadence.refresh_from_db()
    return cadence


@transaction.atomic
def cadence_publish(*, cadence: Cadence, actor: Any = None) -> CadenceVersion:
    """Publish the draft as the next immutable version and make the cadence active. Leads
    already enrolled stay on the version they started with."""
    given = cadence
    cadence = Cadence.objects.select_for_update().get(pk=cadence.pk)
    steps = steps_clean(cadence.draft_steps)
    number = (cadence.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = CadenceVersion.objects.create(cadence=cadence, number=number, published_by=actor)
    Step.objects.bulk_create(
        Step(
            version=version,
            position=n,
            day=s["day"],
            window_from=_time(s["from"], "from", {}) or time(9),
            window_until=_time(s["until"], "until", {}) or time(18),
            kind=s["kind"],
            template_id=s["template"],
            script=s["script"],
            instructions=s["instructions"],
        )
        for n, s in enumerate(steps, start=1)
    )
    cadence.live = version
    cadence.status = Cadence.Status.ACTIVE
    cadence.save(update_fields=["live", "status", "updated_at"])
    given.live, given.status = version, cadence.status
    return version


def cadence_set_status(*, cadence: Cadence, status: str) -> Cadence:
    """Pause (no new leads; enrolled leads wait), resume or archive a cadence."""
    if status not in Cadence.Status.values or status == Cadence.Status.DRAFT:
        raise ValidationError({"status": _("Choose active, paused or archived.")})
    if status == Cadence.Status.ACTIVE and cadence.live_id is None:
        raise ValidationError({"status": _("Publish the cadence before activating it.")})
    cadence.status = status
    cadence.save(update_fields=["status", "updated_at"])
    return cadence


# --- Shipped cadences (seed 002) ---------------------------------------------------------------


@dataclass(frozen=True)
class Shipped:
    key: str
    name: str
    description: Any
    steps: list[tuple[int, str]]  # (day, kind)


INTRO = (
    gettext_noop("Sales intro (e-mail)"),
    "Quick question, {{ contact.first_name|default:'there' }}",
    "<p>Hi {{ contact.first_name|default:'there' }},</p><p>I saw you were looking at "
    "{% for p in viewed_products %}{% if forloop.first %}{{ p.name }}{% endif %}{% endfor %}"
    " at {{ shop.name }}. Can I help you choose? Just reply to this e-mail.</p>",
)
FOLLOW_UP = (
    gettext_noop("Sales follow-up (e-mail)"),
    "Still looking, {{ contact.first_name|default:'there' }}?",
    "<p>Hi {{ contact.first_name|default:'there' }},</p><p>Happy to answer any question "
    "about {{ shop.name }}: reply here and I will get back to you today.</p>",
)
SMS = (
    gettext_noop("Sales check-in (SMS)"),
    "",
    "{{ shop.name }}: hi {{ contact.first_name|default:'' }}, "
    "any question I can help with? Reply here. STOP to opt out.",
)

K = StepKind
SHIPPED: list[Shipped] = [
    Shipped(
        "7-in-7",
        gettext_noop("7 touches in 7 days"),
        gettext_lazy("A fast cadence for hot leads: call and e-mail on day one, then every day."),
        [
            (0, K.CALL),
            (0, K.EMAIL_AUTO),
            (1, K.CALL),
            (2, K.SMS_MANUAL),
            (3, K.GHOST_CALL),
            (5, K.EMAIL_AUTO),
            (7, K.CALL),
        ],
    ),
    Shipped(
        "9-in-18",
        gettext_noop("9 touches in 18 days"),
        gettext_lazy(
            "The balanced default: calls, e-mails and a LinkedIn touch over two and a half weeks."
        ),
        [
            (0, K.CALL),
            (0, K.EMAIL_AUTO),
            (1, K.CALL),
            (3, K.LINKEDIN_CONNECT),
            (5, K.CALL),
            (7, K.EMAIL_AUTO),
            (10, K.CALL),
            (14, K.SMS_MANUAL),
            (18, K.CALL),
        ],
    ),
    Shipped(
        "18-in-35",
        gettext_noop("18 touches in 35 days"),
        gettext_lazy("For considered purchases: persistent, varied touches over five weeks."),
        [
            (0, K.CALL),
            (0, K.EMAIL_AUTO),
            (1, K.CALL),
            (2, K.SMS_MANUAL),
            (3, K.CALL),
            (4, K.LINKEDIN_CONNECT),
            (6, K.EMAIL_AUTO),
            (8, K.CALL),
            (10, K.GHOST_CALL),
            (12, K.EMAIL_MANUAL),
            (15, K.CALL),
            (17, K.SOCIAL),
            (20, K.CALL),
            (23, K.EMAIL_AUTO),
            (26, K.CALL),
            (29, K.LINKEDIN_INMAIL),
            (32, K.CALL),
            (35, K.EMAIL_MANUAL),
        ],
    ),
    Shipped(
        "won-lead",
        gettext_noop("Won-lead pattern"),
        gettext_lazy(
            "What worked for won leads: 3 to 4 attempts in the first 4 to 5 days, then one "
            "every 5 days, repeated."
        ),
        [
            (0, K.CALL),
            (1, K.CALL),
            (2, K.EMAIL_AUTO),
            (4, K.CALL),
            (9, K.CALL),
            (14, K.CALL),
            (19, K.EMAIL_AUTO),
            (24, K.CALL),
        ],
    ),
]


def _template(name: str, channel: str, subject: str, body: str) -> MessageTemplate:
    template, created = MessageTemplate.objects.get_or_create(
        name=name, defaults={"channel": channel, "purpose": Purpose.SALES, "default_locale": "en"}
    )
    if created:
        TemplateContent.objects.create(
            template=template,
            locale="en",
            subject=subject,
            html=body if channel == Channel.EMAIL else "",
            text=body if channel == Channel.SMS else "",
        )
    return template


@transaction.atomic
def shipped_cadence_install(*, key: str, publish: bool = False, actor: Any = None) -> Cadence:
    """Install a shipped cadence as a draft (with its sales templates); installing it again
    returns the one already there."""
    spec = {s.key: s for s in SHIPPED}[key]
    existing = Cadence.objects.filter(name=spec.name).first()
    if existing is not None:
        return existing
    intro = _template(INTRO[0], Channel.EMAIL, INTRO[1], INTRO[2])
    follow_up = _template(FOLLOW_UP[0], Channel.EMAIL, FOLLOW_UP[1], FOLLOW_UP[2])
    sms = _template(SMS[0], Channel.SMS, SMS[1], SMS[2])
    steps = []
    emails = 0
    for day, kind in spec.steps:
        template = None
        if kind in EMAIL_KINDS:
            template = intro if emails == 0 else follow_up
            emails += 1
        elif kind in SMS_KINDS:
            template = sms
        steps.append(
            {
                "day": day,
                "kind": kind,
                "from": "09:00",
                "until": "18:00",
                "template": template.pk if template else None,
                "script": "",
                "instructions": "",
            }
        )
    # Stored in English whoever installs it: the pages show a shipped text in each reader's
    # language (growth/shipped.py).
    with translation.override("en"):
        description = str(spec.description)
    cadence = cadence_save(cadence=None, name=spec.name, description=description, steps=steps)
    if publish:
        cadence_publish(cadence=cadence, actor=actor)
    return cadence


def shipped_texts() -> list[Any]:
    """The names and descriptions the shipped cadences install, for growth.shipped."""
    return [
        *(spec.name for spec in SHIPPED),
        *(spec.description for spec in SHIPPED),
        INTRO[0],
        FOLLOW_UP[0],
        SMS[0],
    ]
