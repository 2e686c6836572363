"""Reads of the CSV import. The stored file is never loaded here: pages need only its numbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from leads.csv_import import order_rows, parsing
from leads.models import ContactImport, ImportRowError

LIST_LIMIT = 100
ERRORS_SHOWN = 100
ERROR_COLUMNS = ("row", "column", "value", "message")


def contact_import_list(*, limit: int = LIST_LIMIT) -> list[ContactImport]:
    """The latest imports, newest first."""
    return list(
        ContactImport.objects.defer("file", "sample", "header", "mapping")
        .select_related("uploaded_by")
        .order_by("-created_at", "-id")[:limit]
    )


def contact_import_get(*, pk: int) -> ContactImport:
    return ContactImport.objects.defer("file").select_related("uploaded_by").get(pk=pk)


def import_errors_first(
    *, contact_import: ContactImport, limit: int = ERRORS_SHOWN
) -> list[ImportRowError]:
    return list(_errors(contact_import)[:limit])


def import_error_rows(*, contact_import: ContactImport) -> Iterator[tuple[Any, ...]]:
    """Every row error in file order, read in chunks so memory stays flat."""
    return _errors(contact_import).values_list(*ERROR_COLUMNS).iterator(chunk_size=2000)


def _errors(contact_import: ContactImport) -> QuerySet[ImportRowError]:
    return ImportRowError.objects.filter(contact_import=contact_import).order_by("row", "id")


@dataclass
class PreviewRow:
    row: int
    cells: list[str]  # one per mapped column, as it will be stored (raw when the row is bad)
    problems: list[str] = field(default_factory=list)


@dataclass
class Preview:
    headings: list[tuple[str, str]]  # (column, target label) of every column not ignored
    rows: list[PreviewRow]
    problems: list[str]  # what is wrong with the mapping itself


def import_examples(*, contact_import: ContactImport, per_column: int = 3) -> list[list[str]]:
    """A few non-blank values of each column, from the stored sample."""
    examples: list[list[str]] = [[] for _ in contact_import.header]
    for sample in contact_import.sample:
        for index, cell in enumerate(sample["cells"][: len(examples)]):
            if cell.strip() and len(examples[index]) < per_column:
                examples[index].append(cell.strip())
    return examples


def import_mapping_labels(*, contact_import: ContactImport) -> list[tuple[str, str]]:
    """(column, what it fills) for every column, as the import was started."""
    labels = dict(parsing.target_choices("", contact_import.kind))
    result = []
    for column in contact_import.header:
        target = contact_import.mapping.get(column, parsing.IGNORE)
        if target.startswith(parsing.PROPERTY):
            label = _("property “%(name)s”") % {"name": target.removeprefix(parsing.PROPERTY)}
        else:
            label = labels.get(target, target)
        result.append((column, label))
    return result


def import_preview(*, contact_import: ContactImport, mapping: dict[str, str]) -> Preview:
    """The sample rows as this mapping would load them, with what is wrong with each."""
    plan = parsing.Plan.build(contact_import.header, mapping)
    problems = parsing.mapping_errors(contact_import.header, mapping, contact_import.kind)
    if contact_import.kind == ContactImport.Kind.ORDERS:
        return _order_preview(contact_import, plan, problems)
    labels = dict(parsing.TARGET_LABELS)
    headings = [
        (column, str(labels[target]) if target in labels else _("property"))
        for _index, column, target in plan.columns
    ]
    rows = []
    for sample in contact_import.sample:
        cells = sample["cells"]
        row, found = parsing.parse_row(plan, cells)
        shown = []
        for index, _column, target in plan.columns:
            raw = cells[index].strip() if index < len(cells) else ""
            if row is None:
                shown.append(raw)
            elif target.startswith(parsing.PROPERTY):
                shown.append(row.properties.get(target.removeprefix(parsing.PROPERTY), ""))
            elif target == parsing.CONSENT_EMAIL:
                shown.append(row.consent or "")
            elif target == parsing.LIFECYCLE_STAGE:
                shown.append(row.stage or "")
            else:
                shown.append(row.fields.get(target, ""))
        rows.append(
            PreviewRow(
                row=sample["row"],
                cells=shown,
                problems=[f"{p.column}: {p.message}" if p.column else p.message for p in found],
            )
        )
    return Preview(headings=headings, rows=rows, problems=problems)


def _order_preview(
    contact_import: ContactImport, plan: parsing.Plan, problems: list[str]
) -> Preview:
    """The sample rows of an orders file, each checked on its own (order totals may sit on
    the order's first row only, so a missing one shows in the load, not here)."""
    labels = order_rows.TARGET_LABELS
    headings = [(column, str(labels.get(target, target))) for _i, column, target in plan.columns]
    rows = []
    for sample in contact_import.sample:
        cells = sample["cells"]
        row, found = order_rows.parse_row(plan, cells)
        shown = [
            order_rows.shown(row.values.get(target))
            if row is not None
            else (cells[index].strip() if index < len(cells) else "")
            for index, _column, target in plan.columns
        ]
        rows.append(
            PreviewRow(
                row=sample["row"],
                cells=shown,
                problems=[f"{p.column}: {p.message}" if p.column else p.message for p in found],
            )
        )
    return Preview(headings=headings, rows=rows, problems=problems)
