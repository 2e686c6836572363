"""CSV import of contacts: guessing the mapping, refusing bad uploads, loading a mixed file
set-based (counts, errors, dedupe, consent), resuming after a crash without doubling,
constant queries per chunk, a real worker, and who may import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from growth.roles import Role
from leads import signals
from leads.csv_import import parsing, services
from leads.csv_import.services import contact_import_create, contact_import_process
from leads.models import Consent, Contact, ContactImport, Identity, ImportRowError, Source
from tests.leads.factories import ConsentFactory, ContactFactory, IdentityFactory
from tests.polling import poll

pytestmark = pytest.mark.django_db

Status = ContactImport.Status


def csv_bytes(rows: list[list[str]], delimiter: str = ",", bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def upload(client, data: bytes, name: str = "contacts.csv"):  # type: ignore[no-untyped-def]
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("import_new"), {"file": file})


def started(data: bytes, mapping: dict[str, str] | None = None) -> ContactImport:
    """An import stored and mapped (its guess unless told), as "Start import" leaves it."""
    contact_import = contact_import_create(filename="contacts.csv", data=data, uploaded_by=None)
    ContactImport.objects.filter(pk=contact_import.pk).update(
        mapping=mapping or contact_import.mapping, status=Status.MAPPED
    )
    return contact_import


def run(contact_import: ContactImport, **kwargs: Any) -> ContactImport:
    contact_import_process(import_id=contact_import.pk, **kwargs)
    return ContactImport.objects.get(pk=contact_import.pk)


def counts(contact_import: ContactImport) -> tuple[int, int, int, int]:
    ci = contact_import
    return ci.created_count, ci.updated_count, ci.failed_count, ci.skipped_count


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Import ids the pages enqueue, instead of sending them to a broker."""
    from leads.csv_import import tasks

    sent: list[int] = []
    monkeypatch.setattr(tasks.contact_import_run, "delay", lambda import_id: sent.append(import_id))
    return sent


# --- Guessing the mapping ---------------------------------------------------------------------


def test_guess_maps_common_header_names():
    header = [
        "E-mail",
        "First Name",
        "last_name",
        "Mobile",
        "Country",
        "Time zone",
        "Company",
        "Newsletter",
        "Favourite colour",
    ]
    assert parsing.guess_mapping(header) == {
        "E-mail": "email",
        "First Name": "first_name",
        "last_name": "last_name",
        "Mobile": "phone",
        "Country": "country",
        "Time zone": "time_zone",
        "Company": "company",
        "Newsletter": "consent_email",
        "Favourite colour": "property:Favourite colour",
    }
    assert parsing.guess_mapping(["Email Address"]) == {"Email Address": "email"}
    assert parsing.guess_mapping(["Work Email", "Cell phone"]) == {
        "Work Email": "email",
        "Cell phone": "phone",
    }


def test_guess_prefers_exact_names_and_uses_each_field_once():
    # A Shopify customer export: the real "Phone" wins over the address phone that comes
    # first, and SMS marketing consent is not e-mail consent.
    header = [
        "First Name",
        "Email",
        "Accepts Email Marketing",
        "Default Address Phone",
        "Default Address Country Code",
        "Phone",
        "Accepts SMS Marketing",
        "Email (2)",
    ]
    guessed = parsing.guess_mapping(header)
    assert guessed["Phone"] == "phone"
    assert guessed["Default Address Phone"] == "property:Default Address Phone"
    assert guessed["Default Address Country Code"] == "country"
    assert guessed["Accepts Email Marketing"] == "consent_email"
    assert guessed["Accepts SMS Marketing"] == "property:Accepts SMS Marketing"
    assert guessed["Email (2)"] == "property:Email (2)"


def test_guess_ignores_the_columns_only_growths_own_export_has():
    guessed = parsing.guess_mapping(["id", "email", "score", "lifecycle_stage", "created_at"])
    assert guessed == {
        "id": "ignore",
        "email": "email",
        "score": "ignore",
        "lifecycle_stage": "ignore",
        "created_at": "ignore",
    }


# --- One row --------------------------------------------------------------------------------------

HEADER = ["email", "phone", "first_name", "country", "time_zone", "consent", "tier"]
MAPPING = {
    "email": "email",
    "phone": "phone",
    "first_name": "first_name",
    "country": "country",
    "time_zone": "time_zone",
    "consent": "consent_email",
    "tier": "property:tier",
}
PLAN = parsing.Plan.build(HEADER, MAPPING)


def test_a_valid_row_is_normalised():
    row, problems = parsing.parse_row(
        PLAN,
        [" Ada@Example.COM ", "+44 (20) 7946-0000", "Ada", "gb", "europe/london", "YES", "gold"],
    )
    assert problems == []
    assert row is not None
    assert row.fields == {
        "email": "ada@example.com",
        "phone": "+442079460000",
        "first_name": "Ada",
        "country": "GB",
        "time_zone": "Europe/London",
    }
    assert (row.consent, row.consent_raw, row.properties) == ("granted", "YES", {"tier": "gold"})


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        (["not-an-email", "", "", "", "", "", ""], "email", "not a valid e-mail address"),
        (["", "12-34", "", "", "", "", ""], "phone", "at least 6 digits"),
        (["a@example.com", "", "", "USA", "", "", ""], "country", "two letters"),
        (["a@example.com", "", "", "", "Mars/Olympus", "", ""], "time_zone", "time zone"),
        (["a@example.com", "", "", "", "", "maybe", ""], "consent", "yes, no"),
        (["", "", "Nobody", "", "", "", ""], "", "needs an e-mail address or a phone number"),
        (["a@example.com", "", "x" * 151, "", "", "", ""], "first_name", "longer than 150"),
    ],
)
def test_a_bad_row_says_which_column_and_why(cells, column, message):
    row, problems = parsing.parse_row(PLAN, cells)
    assert row is None
    assert [p.column for p in problems] == [column]
    assert message in problems[0].message


def test_a_blank_row_is_neither_valid_nor_an_error():
    assert parsing.parse_row(PLAN, ["", " ", "", "", "", "", ""]) == (None, [])
    assert parsing.parse_row(PLAN, []) == (None, [])


# --- Upload -------------------------------------------------------------------------------------


def test_upload_reads_bom_and_semicolons_then_shows_the_guessed_mapping(client_as):
    client = client_as(Role.MARKETER)
    data = csv_bytes(
        [["E-mail", "First Name", "Mobile"], ["ada@example.com", "Ada", "+1 555 0100"]],
        delimiter=";",
        bom=True,
    )
    response = upload(client, data, name="people.csv")
    contact_import = ContactImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("import_detail", args=[contact_import.pk])
    assert (contact_import.encoding, contact_import.delimiter) == ("utf-8-sig", ";")
    assert contact_import.header == ["E-mail", "First Name", "Mobile"]  # no BOM in the name
    assert (contact_import.rows_total, contact_import.size) == (1, len(data))
    assert bytes(ContactImport.objects.values_list("file", flat=True).get()) == data

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert '<option value="email" selected>' in html
    assert '<option value="phone" selected>' in html
    assert page.context["preview"].rows[0].cells == ["ada@example.com", "Ada", "+15550100"]


def test_upload_sniffs_tabs(client_as):
    client = client_as(Role.ADMIN)
    upload(client, csv_bytes([["email", "name"], ["a@example.com", "A"]], delimiter="\t"))
    assert ContactImport.objects.get().delimiter == "\t"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00rest of a workbook", "not a CSV file"),
        (b"email\n\x00\x01\x02binary", "not a CSV text file"),
        ("email,name\nzoë@example.com,Zoë\n".encode("latin-1"), "not UTF-8"),
        (b"email,name\n", "no contacts below it"),
        (b"", "The file is empty."),
        (b" \n \n", "The file is empty."),
    ],
)
def test_upload_refuses_what_is_not_a_contacts_csv(client_as, data, message):
    client = client_as(Role.MARKETER)
    response = upload(client, data)
    assert response.status_code == 200  # the page again, with the reason
    assert message in response.content.decode()
    assert not ContactImport.objects.exists()


def test_upload_refuses_a_file_over_the_limit(client_as, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_FILE_BYTES", 1024 * 1024)
    client = client_as(Role.MARKETER)
    response = upload(client, b"email\n" + b"someone@example.com\n" * 60_000)  # 1.2 MB
    assert response.status_code == 200
    assert "The file is 1.1 MB; the limit is 1 MB" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_an_empty_list_says_how_to_import(client_as):
    response = client_as(Role.MARKETER).get(reverse("imports"))
    assert response.status_code == 200
    assert "No imports yet" in response.content.decode()


# --- Mapping and start -------------------------------------------------------------------------


def _mapping_post(contact_import: ContactImport, **targets: str) -> dict[str, str]:
    chosen = {**contact_import.mapping, **targets}
    return {f"col_{i}": chosen[column] for i, column in enumerate(contact_import.header)}


def test_start_without_email_or_phone_is_refused_with_the_reason(client_as, enqueued):
    client = client_as(Role.MARKETER)
    upload(client, csv_bytes([["Email", "Name"], ["a@example.com", "A"]]))
    contact_import = ContactImport.objects.get()
    url = reverse("import_detail", args=[contact_import.pk])
    response = client.post(
        url, {**_mapping_post(contact_import, Email="property:Email"), "action": "start"}
    )
    assert response.status_code == 200
    assert "No e-mail or phone column mapped: contacts are matched on those" in (
        response.content.decode()
    )
    contact_import.refresh_from_db()
    assert contact_import.status == Status.UPLOADED
    assert enqueued == []


def test_start_with_a_field_chosen_twice_is_refused(client_as, enqueued):
    client = client_as(Role.MARKETER)
    upload(client, csv_bytes([["Email", "Other mail"], ["a@example.com", "b@example.com"]]))
    contact_import = ContactImport.objects.get()
    response = client.post(
        reverse("import_detail", args=[contact_import.pk]),
        {**_mapping_post(contact_import, **{"Other mail": "email"}), "action": "start"},
    )
    assert "E-mail is chosen for Email, Other mail" in response.content.decode()
    assert ContactImport.objects.get().status == Status.UPLOADED
    assert enqueued == []


def test_the_preview_follows_the_selects_through_htmx(client_as):
    client = client_as(Role.MARKETER)
    upload(client, csv_bytes([["Email", "Colour"], ["A@Example.com", "teal"]]))
    contact_import = ContactImport.objects.get()
    response = client.post(
        reverse("import_detail", args=[contact_import.pk]),
        {**_mapping_post(contact_import, Colour="ignore"), "action": "preview"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="preview"' in html
    assert response.context["preview"].headings == [("Email", "E-mail")]
    assert response.context["preview"].rows[0].cells == ["a@example.com"]
    assert ContactImport.objects.get().mapping == contact_import.mapping  # nothing saved


def test_start_saves_the_mapping_and_enqueues_on_commit(
    client_as, enqueued, django_capture_on_commit_callbacks
):
    client = client_as(Role.MARKETER)
    upload(client, csv_bytes([["Email", "Colour"], ["a@example.com", "teal"]]))
    contact_import = ContactImport.objects.get()
    url = reverse("import_detail", args=[contact_import.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {**_mapping_post(contact_import, Colour="ignore"), "action": "start"}
        )
    assert response.status_code == 302
    contact_import.refresh_from_db()
    assert contact_import.status == Status.MAPPED
    assert contact_import.mapping == {"Email": "email", "Colour": "ignore"}
    assert enqueued == [contact_import.pk]
    # Started once: a second start is refused and enqueues nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {**_mapping_post(contact_import), "action": "start"})
    assert enqueued == [contact_import.pk]


# --- The load ---------------------------------------------------------------------------------

BIG_HEADER = [
    "Email",
    "Phone",
    "First name",
    "Last name",
    "Company",
    "Country",
    "TZ",
    "Opt-in",
    "Tier",
]
BAD_KINDS = 5  # of every 20 generated rows, the first 5 are bad in one way each


def big_file(n: int = 2000) -> tuple[bytes, dict[str, Any]]:
    """`n` data rows: generated people (a quarter of them bad), two existing contacts, one
    person twice, and two blank rows. Returns the file and what the import must count."""
    rows: list[list[str]] = [BIG_HEADER]
    generated = n - 5
    failed = 0
    for i in range(generated):
        email, phone = f"person{i}@example.com", f"+1 555 {i:07d}"
        row = [email, phone, f"First{i}", f"Last{i}", "", "US", "America/New_York", "", "gold"]
        kind = i % 20
        if kind == 0:
            row[0] = f"person{i}-at-example.com"
        elif kind == 1:
            row[0], row[1] = "", "12-34"
        elif kind == 2:
            row[0], row[1] = "", ""
        elif kind == 3:
            row[5] = "USA"
        elif kind == 4:
            row[6] = "Mars/Olympus"
        else:
            row[7] = "yes" if i % 2 else "no"
        failed += kind < BAD_KINDS
        rows.append(row)
    rows += [
        # An existing contact by e-mail (different case): blanks filled, the rest kept.
        ["EXISTING@example.com", "", "Other", "Stone", "Acme", "DE", "", "no", "silver"],
        [],
        # An existing contact found by phone only.
        ["", "+49 30 1234567", "Phil", "", "", "", "", "", ""],
        [],
        # person5 again, later in the file: this row wins, the first one is skipped.
        ["Person5@Example.com", "", "Latest", "", "", "", "", "", ""],
    ]
    created = generated - failed
    return csv_bytes(rows), {
        "created": created,
        "updated": 2,
        "failed": failed,
        "skipped": 3,  # two blank rows and the first person5
        "rows": n,
    }


@pytest.fixture
def existing() -> dict[str, Contact]:
    by_email = ContactFactory(
        first_name="Eve",
        last_name="",
        company="",
        email="existing@example.com",
        country="",
        properties={"Tier": "platinum"},
    )
    IdentityFactory(contact=by_email, kind=Identity.Kind.EMAIL, value="existing@example.com")
    by_phone = ContactFactory(first_name="", email="", phone="+49301234567")
    IdentityFactory(contact=by_phone, kind=Identity.Kind.PHONE, value="+49301234567")
    return {"email": by_email, "phone": by_phone}


def assert_no_duplicates() -> None:
    doubled = Contact.objects.exclude(email="").values("email").annotate(n=Count("id"))
    assert not doubled.filter(n__gt=1).exists()
    assert Identity.objects.count() == Identity.objects.values("kind", "value").distinct().count()


def test_a_mixed_file_is_counted_deduplicated_and_its_errors_listed(existing, client_as):
    data, expected = big_file()
    contact_import = run(started(data))

    assert contact_import.status == Status.DONE
    assert contact_import.rows_done == contact_import.rows_total == expected["rows"]
    assert counts(contact_import) == (
        expected["created"],
        expected["updated"],
        expected["failed"],
        expected["skipped"],
    )
    assert Contact.objects.count() == expected["created"] + 2
    assert_no_duplicates()

    # The existing contacts were updated, not duplicated: blanks filled, the rest kept.
    eve = Contact.objects.get(pk=existing["email"].pk)
    assert (eve.first_name, eve.last_name, eve.company, eve.country) == (
        "Eve",
        "Stone",
        "Acme",
        "DE",
    )
    assert eve.properties == {"Tier": "platinum"}  # an existing property wins
    phil = Contact.objects.get(pk=existing["phone"].pk)
    assert (phil.first_name, phil.phone) == ("Phil", "+49301234567")

    # The later row of the same person won.
    person5 = Contact.objects.get(email="person5@example.com")
    assert person5.first_name == "Latest"
    assert person5.phone == ""

    # A new contact looks exactly like one the app creates (its score is its fit, scored
    # at once by the after-batch reactions, as for any new contact).
    ada = Contact.objects.get(email="person6@example.com")
    fresh = Contact()
    for name in ("lifecycle_stage", "first_touch", "last_touch", "source_channel"):
        assert getattr(ada, name) == getattr(fresh, name)
    assert (ada.merged_into_id, ada.erased_at, ada.last_seen_at) == (None, None, None)
    assert ada.properties == {"Tier": "gold"}
    assert (ada.first_name, ada.phone, ada.country, ada.time_zone) == (
        "First6",
        "+15550000006",
        "US",
        "America/New_York",
    )
    assert abs(ada.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert ada.updated_at == ada.created_at
    source = Source.objects.get(kind=Source.Kind.IMPORT)
    assert sorted(ada.identities.values_list("kind", "value", "source")) == [
        ("email", "person6@example.com", source.pk),
        ("phone", "+15550000006", source.pk),
    ]

    # Consent from the opt-in column, with where it came from.
    consent = Consent.objects.get(contact=ada, channel="email")
    assert (consent.status, consent.source) == ("denied", "import")
    assert consent.proof == {"import_id": contact_import.pk, "row": 8, "value": "no"}
    assert Consent.objects.get(contact__email="person7@example.com").status == "granted"
    assert Consent.objects.get(contact=eve).status == "denied"

    # Errors: one per bad row, with row number (as a spreadsheet shows it) and column.
    assert ImportRowError.objects.count() == expected["failed"]
    first = list(
        ImportRowError.objects.order_by("row").values_list("row", "column", "value", "message")[:5]
    )
    assert first == [
        (2, "Email", "person0-at-example.com", "not a valid e-mail address"),
        (3, "Phone", "12-34", "a phone number needs at least 6 digits"),
        (4, "", "", "needs an e-mail address or a phone number to match the contact"),
        (5, "Country", "USA", "a country is two letters (ISO 3166), such as US or DE"),
        (6, "TZ", "Mars/Olympus", "not a known time zone; use an IANA name such as Europe/Berlin"),
    ]

    client = client_as(Role.MARKETER)
    page = client.get(reverse("import_detail", args=[contact_import.pk]))
    assert page.status_code == 200
    assert len(page.context["errors"]) == 100
    assert "Download all errors (CSV)" in page.content.decode()
    download = client.get(reverse("import_errors_csv", args=[contact_import.pk]))
    assert download["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert lines[0] == ["row", "column", "value", "message"]
    assert len(lines) == 1 + expected["failed"]
    assert lines[1] == ["2", "Email", "person0-at-example.com", "not a valid e-mail address"]


def test_rows_of_one_person_within_a_chunk_become_one_contact():
    data = csv_bytes(
        [
            ["email", "phone", "first_name", "last_name"],
            ["ann@example.com", "+1 555 000 1111", "", "Lee"],
            ["", "+1 555 000 1111", "Ann", "Other"],  # the same phone, no e-mail
            ["bob@example.com", "", "Bob", ""],
            ["BOB@example.com", "", "Robert", ""],  # the same e-mail: this row wins
        ]
    )
    contact_import = run(started(data))
    assert counts(contact_import) == (2, 1, 0, 1)
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name, ann.phone) == ("Ann", "Lee", "+15550001111")
    assert Contact.objects.get(email="bob@example.com").first_name == "Robert"
    assert Contact.objects.count() == 2
    assert_no_duplicates()


def test_consent_keeps_newer_statements_and_signals_changes(django_capture_on_commit_callbacks):
    newer, older = (
        ContactFactory(email="newer@example.com"),
        ContactFactory(email="older@example.com"),
    )
    same = ContactFactory(email="same@example.com")
    for contact in (newer, older, same):
        IdentityFactory(contact=contact)
    future = datetime.now(UTC) + timedelta(days=1)
    ConsentFactory(contact=newer, status="granted", changed_at=future)  # said after the upload
    ConsentFactory(contact=older, status="granted", changed_at=datetime(2020, 1, 1, tzinfo=UTC))
    ConsentFactory(contact=same, status="denied", changed_at=datetime(2020, 1, 1, tzinfo=UTC))
    data = csv_bytes(
        [
            ["email", "consent"],
            ["newer@example.com", "no"],
            ["older@example.com", "false"],
            ["same@example.com", "0"],
            ["new@example.com", "TRUE"],
        ]
    )
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    signals.consent_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run(started(data))
    finally:
        signals.consent_changed.disconnect(receiver)

    status = dict(Consent.objects.values_list("contact__email", "status"))
    assert status == {
        "newer@example.com": "granted",
        "older@example.com": "denied",
        "same@example.com": "denied",
        "new@example.com": "granted",
    }
    assert Consent.objects.get(contact=same).changed_at.year == 2020  # unchanged: untouched
    new = Contact.objects.get(email="new@example.com")
    assert sorted((r["contact_id"], r["status"]) for r in received) == sorted(
        [(older.pk, "denied"), (new.pk, "granted")]
    )


class WorkerKilled(BaseException):
    """Like SIGKILL: nothing in the task gets to handle it."""


def test_a_crash_mid_chunk_resumes_at_the_last_whole_chunk_without_doubling(existing, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 500)
    data, expected = big_file()
    contact_import = started(data)

    # The second chunk dies after its contacts and identities were written, before the
    # import's cursor moved.
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

    after_crash = ContactImport.objects.get(pk=contact_import.pk)
    assert (after_crash.status, after_crash.rows_done) == (Status.RUNNING, 500)
    first_chunk_rows = 500 - 500 // 20 * BAD_KINDS
    assert after_crash.created_count == first_chunk_rows
    assert Contact.objects.count() == first_chunk_rows + 2  # nothing of chunk 2 is left
    assert ImportRowError.objects.count() == after_crash.failed_count

    # The re-delivered task: one chunk, then stopped again (a second interruption) …
    once_more = run(contact_import, max_chunks=1)
    assert once_more.rows_done == 1000
    # … and the rest.
    done = run(contact_import)
    assert done.status == Status.DONE
    # person5's second row is three chunks after the first: it updates the contact the first
    # one created (a matched contact, not a skipped row).
    assert counts(done) == (
        expected["created"],
        expected["updated"] + 1,
        expected["failed"],
        expected["skipped"] - 1,
    )
    assert Contact.objects.get(email="person5@example.com").first_name == "First5"
    assert Contact.objects.count() == expected["created"] + 2
    assert ImportRowError.objects.count() == expected["failed"]
    assert_no_duplicates()
    # Running it again changes nothing.
    assert counts(run(contact_import)) == counts(done)


def test_a_failed_chunk_marks_the_import_failed_and_it_can_be_resumed(
    client_as, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    data = csv_bytes([["email"], *([f"p{i}@example.com"] for i in range(6))])
    contact_import = started(data)
    upsert = services.UPSERT_CONSENT
    monkeypatch.setattr(services, "UPSERT_CONSENT", "SELECT 1/0")  # the database says no
    failed = run(contact_import)
    assert failed.status == Status.FAILED
    assert "The import stopped at row 2: division by zero" in failed.error
    assert Contact.objects.count() == 0

    monkeypatch.setattr(services, "UPSERT_CONSENT", upsert)
    client = client_as(Role.MARKETER)
    url = reverse("import_detail", args=[contact_import.pk])
    assert "Resume import" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "resume"})
    assert ContactImport.objects.get(pk=contact_import.pk).status == Status.MAPPED
    assert enqueued[-1] == contact_import.pk
    done = run(contact_import)
    assert (done.status, done.created_count, done.error) == (Status.DONE, 6, "")


def test_queries_per_chunk_do_not_grow_with_rows_or_chunks(
    monkeypatch, django_assert_max_num_queries
):
    services._import_source()  # created once, by the first import ever

    def queries(rows: int, chunk: int) -> int:
        monkeypatch.setattr(services, "CHUNK_ROWS", chunk)
        data = csv_bytes(
            [["email", "phone", "consent"]]
            + [
                [f"q{rows}-{chunk}-{i}@example.com", f"+1 555 {rows}{i:06d}", "yes"]
                for i in range(rows)
            ]
        )
        contact_import = started(data)
        with CaptureQueriesContext(connection) as captured:
            assert run(contact_import).status == Status.DONE
        return len(captured)

    one_small_chunk = queries(100, 100)
    assert queries(1000, 1000) == one_small_chunk  # the chunk's size does not matter
    per_chunk = queries(200, 100) - one_small_chunk
    assert queries(400, 100) == one_small_chunk + 3 * per_chunk  # each chunk costs the same
    assert per_chunk <= 60  # 16 to load a chunk, the rest the after-batch reactions

    monkeypatch.setattr(services, "CHUNK_ROWS", 100)
    data = csv_bytes([["email"]] + [[f"m{i}@example.com"] for i in range(1000)])
    contact_import = started(data)
    with django_assert_max_num_queries(one_small_chunk + 9 * per_chunk):
        run(contact_import)


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_import_started_from_the_page(client_as, celery_worker):
    client = client_as(Role.ADMIN)
    upload(
        client, csv_bytes([["Email", "Name"], *([f"w{i}@example.com", f"W{i}"] for i in range(30))])
    )
    contact_import = ContactImport.objects.get()
    url = reverse("import_detail", args=[contact_import.pk])
    response = client.post(url, {**_mapping_post(contact_import), "action": "start"})
    assert response.status_code == 302
    assert poll(lambda: ContactImport.objects.get().status == Status.DONE)
    assert Contact.objects.count() == 30
    page = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-status")
    html = page.content.decode()
    assert "<html" not in html
    assert "every 1s" not in html  # done: the fragment stops polling
    assert 'value="30"' in html


# --- Pages and permissions ---------------------------------------------------------------------


def test_a_running_import_polls_its_progress_fragment(client_as):
    contact_import = started(csv_bytes([["email"], ["a@example.com"], ["b@example.com"]]))
    ContactImport.objects.filter(pk=contact_import.pk).update(status=Status.RUNNING, rows_done=1)
    client = client_as(Role.MARKETER)
    url = reverse("import_detail", args=[contact_import.pk])
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert '<progress id="import-progress" max="2" value="1">50%</progress>' in page
    fragment = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-status")
    assert fragment.content.decode().lstrip().startswith('<div id="import-status"')
    assert 'hx-trigger="every 1s"' in fragment.content.decode()


def test_the_list_reads_a_fixed_number_of_queries(client_as, django_assert_max_num_queries):
    client = client_as(Role.MARKETER)
    for i in range(5):
        contact_import_create(
            filename=f"f{i}.csv", data=csv_bytes([["email"], ["a@example.com"]]), uploaded_by=None
        )
    with django_assert_max_num_queries(6):
        response = client.get(reverse("imports"))
    assert len(response.context["imports"]) == 5
    assert "f4.csv" in response.content.decode()


@pytest.mark.parametrize("role", [Role.REP, Role.MANAGER, Role.SALES_MANAGER])
def test_other_roles_may_not_import(client_as, role):
    contact_import = started(csv_bytes([["email"], ["a@example.com"]]))
    client = client_as(role)
    for url in (
        reverse("imports"),
        reverse("import_new"),
        reverse("import_detail", args=[contact_import.pk]),
        reverse("import_errors_csv", args=[contact_import.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Marketer / Admin" in response.content.decode()
    assert upload(client, csv_bytes([["email"], ["b@example.com"]])).status_code == 403
    assert ContactImport.objects.count() == 1


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ADMIN])
def test_marketers_and_admins_may_import(client_as, role):
    contact_import = started(csv_bytes([["email"], ["a@example.com"]]))
    client = client_as(role)
    for url in (
        reverse("imports"),
        reverse("import_new"),
        reverse("import_detail", args=[contact_import.pk]),
        reverse("import_errors_csv", args=[contact_import.pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(reverse("imports"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_imported_contacts_join_their_segments_at_once():
    """The after-batch reactions run for each loaded chunk, as for ingested data."""
    from leads.models import SegmentMembership
    from leads.services.segments import segment_create

    germans = segment_create(
        name="Germans",
        kind="dynamic",
        rules={
            "match": "all",
            "conditions": [
                {"kind": "contact", "field": "country", "operator": "eq", "value": "DE"}
            ],
        },
    )
    data = csv_bytes(
        [["email", "country"], ["hans@example.com", "DE"], ["marie@example.com", "FR"]]
    )
    run(started(data))

    joined = SegmentMembership.objects.filter(segment=germans, exited_at__isnull=True)
    assert list(joined.values_list("contact__email", flat=True)) == ["hans@example.com"]
