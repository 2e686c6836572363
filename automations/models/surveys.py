"""Surveys a contact answers from a link in an e-mail or SMS: NPS (0-10) and CSAT (1-5)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Survey(models.Model):
    class Kind(models.TextChoices):
        NPS = "nps", _("NPS: how likely to recommend us (0 to 10)")
        CSAT = "csat", _("CSAT: how satisfied (1 to 5)")

    name = models.CharField(_("name"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.NPS)
    question = models.CharField(_("question"), max_length=300)
    thank_you = models.CharField(_("thank-you text"), max_length=300)
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Closed surveys show a note instead of the scale.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> range:
        return range(0, 11) if self.kind == self.Kind.NPS else range(1, 6)


class SurveyAnswer(models.Model):
    """One contact's answer to one request (a message with the survey link). The same
    request answered again (a double click, a change of mind) is the same row."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="answers")
    contact = models.ForeignKey(
        "leads.Contact", on_delete=models.CASCADE, related_name="survey_answers"
    )
    # What the link was sent for: a delivery key, a journey run and node, "manual:…".
    request_key = models.CharField(max_length=200)
    score = models.SmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(default=timezone.now)  # the first answer
    updated_at = models.DateTimeField(default=timezone.now)  # the latest change

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "contact", "request_key"], name="surveyanswer_one_per_request"
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=10), name="surveyanswer_score_range"
            ),
        ]
        indexes = [
            models.Index(fields=["survey", "-answered_at"], name="surveyanswer_survey"),
            models.Index(fields=["contact", "-answered_at"], name="surveyanswer_contact"),
            models.Index(fields=["answered_at"], name="surveyanswer_answered"),  # dashboards
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}: {self.score}"
