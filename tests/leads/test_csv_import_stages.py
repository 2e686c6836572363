"""CSV import with a lifecycle stage column: each contact it moves gets one `StageChange`
caused by the import (written per chunk, not per row), `stage_changed` goes out on commit
as for every other bulk stage move, and an import without the column moves nobody."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.test.utils import CaptureQueriesContext

from leads import signals
from leads.csv_import import parsing, selectors, services
from leads.csv_import.services import contact_import_create, contact_import_process
from leads.models import Contact, ContactImport, ImportRowError, StageChange
from tests.leads.factories import ContactFactory, IdentityFactory
from tests.leads.test_csv_import import csv_bytes, run

pytestmark = pytest.mark.django_db

Status = ContactImport.Status
STAGE_MAPPING = {"email": "email", "stage": parsing.LIFECYCLE_STAGE}


def started(data: bytes, mapping: dict[str, str], filename: str = "stages.csv") -> ContactImport:
    contact_import = contact_import_create(filename=filename, data=data, uploaded_by=None)
    ContactImport.objects.filter(pk=contact_import.pk).update(mapping=mapping, status=Status.MAPPED)
    return contact_import


def known(email: str, stage: str) -> Contact:
    contact = ContactFactory(email=email, lifecycle_stage=stage)
    IdentityFactory(contact=contact, kind="email", value=email)
    return contact


def changes() -> list[tuple[str, str, str, str, str, bool]]:
    return list(
        StageChange.objects.order_by("contact__email").values_list(
            "contact__email", "from_stage", "to_stage", "cause_kind", "cause_detail", "backward"
        )
    )


@pytest.fixture
def stage_signals() -> Any:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.stage_changed.connect(receiver)
    yield received
    signals.stage_changed.disconnect(receiver)


# --- Reading the column -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "stage"),
    [
        ("mql", "mql"),
        ("MQL", "mql"),
        (" Repeat customer ", "repeat_customer"),
        ("repeat_customer", "repeat_customer"),
        ("At-risk", "at_risk"),
        ("VIP", "vip"),
    ],
)
def test_a_stage_is_read_by_its_value_or_its_label(cell, stage):
    plan = parsing.Plan.build(["email", "stage"], STAGE_MAPPING)
    row, problems = parsing.parse_row(plan, ["ann@example.com", cell])
    assert problems == []
    assert row is not None and row.stage == stage


def test_an_unknown_stage_is_a_row_error_and_a_blank_one_no_stage():
    plan = parsing.Plan.build(["email", "stage"], STAGE_MAPPING)
    row, problems = parsing.parse_row(plan, ["ann@example.com", "gold"])
    assert row is None
    assert problems == [
        parsing.Problem(
            "stage",
            "gold",
            "not a lifecycle stage; use one of subscriber, lead, mql, sql, opportunity, "
            "customer, repeat_customer, vip, at_risk, churned",
        )
    ]
    row, problems = parsing.parse_row(plan, ["ann@example.com", "  "])
    assert problems == [] and row is not None and row.stage is None


def test_the_stage_is_a_target_never_guessed_and_shown_in_the_preview():
    assert (parsing.LIFECYCLE_STAGE, "Lifecycle stage (moves the contact there)") in (
        parsing.target_choices("stage")
    )
    # Growth's own export has the column: re-importing it must not move anyone unasked.
    assert parsing.guess_mapping(["email", "lifecycle_stage", "Stage"]) == {
        "email": "email",
        "lifecycle_stage": "ignore",
        "Stage": "property:Stage",
    }
    contact_import = started(
        csv_bytes([["email", "stage"], ["ann@example.com", "Repeat customer"]]), STAGE_MAPPING
    )
    preview = selectors.import_preview(contact_import=contact_import, mapping=STAGE_MAPPING)
    assert [cells for cells in (row.cells for row in preview.rows)] == [
        ["ann@example.com", "repeat_customer"]
    ]
    assert preview.problems == []


# --- Loading it ---------------------------------------------------------------------------------


def test_each_move_is_recorded_with_the_import_as_cause_and_announced_on_commit(
    stage_signals, django_capture_on_commit_callbacks
):
    forward = known("forward@example.com", "lead")
    backward = known("backward@example.com", "sql")
    same = known("same@example.com", "mql")
    untouched = known("blank@example.com", "opportunity")
    data = csv_bytes(
        [
            ["email", "stage"],
            ["forward@example.com", "MQL"],  # row 2
            ["backward@example.com", "lead"],  # row 3: moves back
            ["same@example.com", "mql"],  # row 4: already there, no change
            ["blank@example.com", ""],  # row 5: no stage, no change
            ["new@example.com", "Customer"],  # row 6: a new contact
            ["plain@example.com", ""],  # row 7: a new contact without a stage
            ["bad@example.com", "gold"],  # row 8: an error, nobody created
        ]
    )
    contact_import = started(data, STAGE_MAPPING)
    with django_capture_on_commit_callbacks(execute=True):
        done = run(contact_import)

    assert (done.status, done.created_count, done.updated_count, done.failed_count) == (
        Status.DONE,
        2,
        4,
        1,
    )
    cause = f"of CSV import #{contact_import.pk} (stages.csv)"
    assert changes() == [
        ("backward@example.com", "sql", "lead", "import", f"row 3 {cause}", True),
        ("forward@example.com", "lead", "mql", "import", f"row 2 {cause}", False),
        ("new@example.com", "subscriber", "customer", "import", f"row 6 {cause}", False),
    ]
    stages = dict(Contact.objects.values_list("email", "lifecycle_stage"))
    assert stages == {
        "forward@example.com": "mql",
        "backward@example.com": "lead",
        "same@example.com": "mql",
        "blank@example.com": "opportunity",
        "new@example.com": "customer",
        "plain@example.com": "subscriber",
    }
    assert list(ImportRowError.objects.values_list("row", "column", "value")) == [
        (8, "stage", "gold")
    ]
    new = Contact.objects.get(email="new@example.com")
    by_contact = {s["contact_id"]: s for s in stage_signals}
    assert sorted(by_contact) == sorted([forward.pk, backward.pk, new.pk])
    assert len(stage_signals) == 3
    change = StageChange.objects.get(contact=forward)
    assert by_contact[forward.pk] == {
        "signal": signals.stage_changed,
        "contact_id": forward.pk,
        "from_stage": "lead",
        "to_stage": "mql",
        "cause": "import",
        "change_id": change.pk,
    }
    assert same.pk not in by_contact and untouched.pk not in by_contact


def test_signals_wait_for_the_commit(stage_signals, django_capture_on_commit_callbacks):
    known("ann@example.com", "lead")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run(started(csv_bytes([["email", "stage"], ["ann@example.com", "sql"]]), STAGE_MAPPING))
    assert stage_signals == []  # nothing before the chunk commits
    for callback in callbacks:
        callback()
    assert [(s["to_stage"], s["cause"]) for s in stage_signals] == [("sql", "import")]


def test_without_a_stage_column_nobody_moves(stage_signals, django_capture_on_commit_callbacks):
    known("ann@example.com", "lead")
    data = csv_bytes(
        [
            ["email", "first_name", "stage"],
            ["ann@example.com", "Ann", "customer"],
            ["b@x.io", "B", "vip"],
        ]
    )
    ignored = {"email": "email", "first_name": "first_name", "stage": "ignore"}
    with django_capture_on_commit_callbacks(execute=True):
        done = run(started(data, ignored))
    assert (done.status, done.created_count, done.updated_count) == (Status.DONE, 1, 1)
    assert StageChange.objects.count() == 0 and stage_signals == []
    assert dict(Contact.objects.values_list("email", "lifecycle_stage")) == {
        "ann@example.com": "lead",
        "b@x.io": "subscriber",
    }


def test_stage_changes_are_written_once_per_chunk_not_per_row(monkeypatch):
    services._import_source()

    def load(rows: int, chunk: int) -> tuple[int, int]:
        """(queries, INSERTs into the stage changes) of one whole import."""
        monkeypatch.setattr(services, "CHUNK_ROWS", chunk)
        data = csv_bytes(
            [["email", "stage"]]
            + [[f"s{rows}-{chunk}-{i}@example.com", "lead"] for i in range(rows)]
        )
        contact_import = started(data, STAGE_MAPPING)
        with CaptureQueriesContext(connection) as captured:
            assert run(contact_import).status == Status.DONE
        inserts = [q for q in captured if "INSERT INTO leads_stagechange" in q["sql"]]
        return len(captured), len(inserts)

    one_chunk, inserts = load(100, 100)
    assert inserts == 1
    assert load(300, 300) == (one_chunk, 1)  # the rows of a chunk do not matter
    two_chunks, inserts = load(200, 100)
    assert inserts == 2
    assert load(400, 100) == (one_chunk + 3 * (two_chunks - one_chunk), 4)
    assert StageChange.objects.filter(cause_kind="import").count() == 100 + 300 + 200 + 400


class WorkerKilled(BaseException):
    """Like SIGKILL: nothing in the task gets to handle it."""


def test_a_chunk_that_dies_takes_its_stage_changes_with_it(monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    for i in range(4):
        known(f"p{i}@example.com", "lead")
    data = csv_bytes([["email", "stage"], *([f"p{i}@example.com", "sql"] for i in range(4))])
    contact_import = started(data, STAGE_MAPPING)
    calls = {"advance": 0}
    real_execute = CursorWrapper.execute

    def dying_execute(self, sql, params=None):  # type: ignore[no-untyped-def]
        if sql == services.ADVANCE:
            calls["advance"] += 1
            if calls["advance"] == 2:
                raise WorkerKilled
        return real_execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", dying_execute)
    with pytest.raises(WorkerKilled):
        contact_import_process(import_id=contact_import.pk)
    monkeypatch.setattr(CursorWrapper, "execute", real_execute)
    assert sorted(StageChange.objects.values_list("contact__email", flat=True)) == [
        "p0@example.com",
        "p1@example.com",
    ]
    assert run(contact_import).status == Status.DONE
    assert list(
        StageChange.objects.order_by("contact__email").values_list(
            "contact__email", "to_stage", "cause_detail"
        )
    ) == [
        (f"p{i}@example.com", "sql", f"row {i + 2} of CSV import #{contact_import.pk} (stages.csv)")
        for i in range(4)
    ]
