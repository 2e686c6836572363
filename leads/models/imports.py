from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ContactImport(models.Model):
    """One uploaded CSV of contacts or of orders (`kind`): the raw file, how its columns map,
    and how far it got.

    The file is kept in the database (raw first, like every inbound delivery) so any worker
    can process it and a crashed run resumes from `rows_done`, which only ever moves by
    whole committed chunks.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("uploaded")  # waiting for its column mapping
        MAPPED = "mapped", _("queued")  # mapped and enqueued, no worker has started yet
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    class Kind(models.TextChoices):
        CONTACTS = "contacts", _("Contacts")
        ORDERS = "orders", _("Orders")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CONTACTS)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    file = models.BinaryField(_("file"))  # at most leads.csv_import.parsing.MAX_FILE_BYTES
    filename = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(
        _("size"), default=0
    )  # bytes; the list never loads `file`
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    encoding = models.CharField(max_length=20, default="utf-8")  # "utf-8" or "utf-8-sig"
    delimiter = models.CharField(max_length=1, default=",")
    header = models.JSONField(default=list, blank=True)  # column names, made unique
    sample = models.JSONField(default=list, blank=True)  # the first rows, for the preview
    mapping = models.JSONField(default=dict, blank=True)  # {column name: target}
    rows_total = models.PositiveIntegerField(_("rows"), default=0)  # data rows below the header
    rows_done = models.PositiveIntegerField(default=0)  # the resume cursor
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="import_recent"),
            models.Index(
                fields=["status"],
                name="import_active",
                condition=Q(status__in=["mapped", "running"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_done__lte=F("rows_total")), name="import_done_within_total"
            )
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.MAPPED, self.Status.RUNNING)

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds())

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class ImportRowError(models.Model):
    """Why one row of an import was not loaded: which column, what it held, what is wrong."""

    contact_import = models.ForeignKey(
        ContactImport, on_delete=models.CASCADE, related_name="row_errors"
    )
    row = models.PositiveIntegerField(_("row"))  # as a spreadsheet numbers it: header is row 1
    column = models.CharField(_("column"), max_length=255, blank=True)  # blank: the whole row
    value = models.TextField(_("value"), blank=True)
    message = models.CharField(_("message"), max_length=255)

    class Meta:
        indexes = [models.Index(fields=["contact_import", "row", "id"], name="import_error_row")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"
