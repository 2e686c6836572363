"""The contacts load at scale: the same result however the file is cut into chunks and runs
(time budget, resume), repeated people across and within chunks, a file that breaks while it
is read, the reading thread, and the fast paths of row checking agreeing with the slow ones.
(The load's main cases are in test_csv_import.py.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.csv_import import parsing, services
from leads.models import Consent, Contact, ContactImport, Identity, ImportRowError
from leads.services.identity import normalise
from tests.leads.factories import ContactFactory, IdentityFactory
from tests.leads.test_csv_import import (
    BAD_KINDS,
    assert_no_duplicates,
    big_file,
    counts,
    csv_bytes,
    run,
    started,
)

Status = ContactImport.Status


def _identities() -> list[tuple[str, str, str]]:
    return sorted(
        Identity.objects.values_list("kind", "value", "contact__email").order_by("kind", "value")
    )


# --- Chunks, runs and resumes ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_run_per_chunk_gives_what_one_run_gives(existing, monkeypatch):
    """Each run ends after its first chunk (a spent time budget), as a large import hands
    over from task to task; the chunk read ahead meanwhile is read again by the next run."""
    monkeypatch.setattr(services, "CHUNK_ROWS", 500)
    data, expected = big_file()
    contact_import = started(data)
    runs = 0
    while (current := run(contact_import, time_budget=0)).status == Status.RUNNING:
        runs += 1
        assert current.rows_done == 500 * runs  # one whole chunk per run
    assert current.status == Status.DONE
    assert runs == 3  # 2,000 rows: three hand-overs, the fourth run finishes
    # person5's second row is a chunk after the first: it updates that contact.
    assert counts(current) == (
        expected["created"],
        expected["updated"] + 1,
        expected["failed"],
        expected["skipped"] - 1,
    )
    assert Contact.objects.count() == expected["created"] + 2
    assert ImportRowError.objects.count() == expected["failed"]
    first_errors = ImportRowError.objects.order_by("row").values_list("row", flat=True)
    assert list(first_errors[:BAD_KINDS]) == [2, 3, 4, 5, 6]
    assert_no_duplicates()


@pytest.fixture
def existing() -> None:
    """The two contacts big_file() expects to find: one by e-mail, one by phone."""
    by_email = ContactFactory(email="existing@example.com", first_name="Eve", last_name="")
    IdentityFactory(contact=by_email, kind=Identity.Kind.EMAIL, value="existing@example.com")
    by_phone = ContactFactory(first_name="", email="", phone="+49301234567")
    IdentityFactory(contact=by_phone, kind=Identity.Kind.PHONE, value="+49301234567")


@pytest.mark.django_db
@pytest.mark.parametrize("chunk", [2, 3, 100])
def test_repeated_people_become_one_contact_each_across_and_within_chunks(monkeypatch, chunk):
    """Each repeat adds to what the person's earlier row said, so the result is the same
    whether the repeat is in the same chunk (the later row wins) or a later one (it fills in
    what is blank): 2 puts every repeat in another chunk, 3 some, 100 none."""
    monkeypatch.setattr(services, "CHUNK_ROWS", chunk)
    data = csv_bytes(
        [
            ["email", "phone", "first_name", "last_name", "consent"],
            ["ann@example.com", "+1 555 000 1111", "Ann", "", "yes"],  # row 2
            ["bob@example.com", "", "Bob", "", ""],  # row 3
            ["ANN@example.com", "+1 555 000 1111", "Ann", "Lee", "yes"],  # row 4: Ann again
            ["", "+1 555 000 2222", "Dee", "", ""],  # row 5: no e-mail
            ["cy@example.com", "+1 555 000 3333", "Cy", "", "no"],  # row 6
            [" Bob@Example.com ", "", "Bob", "Stone", ""],  # row 7: Bob again
            ["", "+1 (555) 000-2222", "Dee", "Doe", ""],  # row 8: Dee again, by phone
        ]
    )
    contact_import = run(started(data))
    assert contact_import.status == Status.DONE
    created, updated, failed, skipped = counts(contact_import)
    assert (created, failed, updated + skipped) == (4, 0, 3)
    if chunk == 2:
        assert (updated, skipped) == (3, 0)  # every repeat found the contact made before
    if chunk == 100:
        assert (updated, skipped) == (0, 3)  # every repeat was folded into one row
    assert Contact.objects.count() == 4
    assert_no_duplicates()
    names = {c.phone: (c.email, c.first_name, c.last_name) for c in Contact.objects.all()}
    assert names == {
        "+15550001111": ("ann@example.com", "Ann", "Lee"),
        "": ("bob@example.com", "Bob", "Stone"),
        "+15550002222": ("", "Dee", "Doe"),
        "+15550003333": ("cy@example.com", "Cy", ""),
    }
    assert _identities() == [
        ("email", "ann@example.com", "ann@example.com"),
        ("email", "bob@example.com", "bob@example.com"),
        ("email", "cy@example.com", "cy@example.com"),
        ("phone", "+15550001111", "ann@example.com"),
        ("phone", "+15550002222", ""),
        ("phone", "+15550003333", "cy@example.com"),
    ]
    consent = dict(Consent.objects.values_list("contact__email", "status"))
    assert consent == {"ann@example.com": "granted", "cy@example.com": "denied"}


@pytest.mark.django_db
def test_a_file_that_breaks_while_read_fails_at_the_last_whole_chunk(monkeypatch):
    """The stored file is checked at upload; should it still not decode further on, the
    import stops at the chunk that holds the bad bytes, with what was loaded kept."""
    monkeypatch.setattr(services, "CHUNK_ROWS", 100)
    rows = [["email"]] + [[f"reader{i:04d}@example.com"] for i in range(1000)]
    contact_import = started(csv_bytes(rows))
    data = bytearray(ContactImport.objects.values_list("file", flat=True).get(pk=contact_import.pk))
    bad = data.index(b"reader0900")
    data[bad : bad + 1] = b"\xff"  # no longer UTF-8, 900 rows in
    ContactImport.objects.filter(pk=contact_import.pk).update(file=bytes(data))

    failed = run(contact_import)
    assert failed.status == Status.FAILED
    assert 0 < failed.rows_done < 900 and failed.rows_done % 100 == 0
    assert f"The import stopped at row {failed.rows_done + 2}: 'utf-8' codec" in failed.error
    assert Contact.objects.count() == failed.created_count == failed.rows_done


# --- The reading thread -----------------------------------------------------------------------


def test_the_reading_thread_speaks_the_callers_language_and_hands_over_in_order():
    def items() -> Iterator[tuple[int, str | None, str]]:
        for n in range(5):
            yield n, translation.get_language(), threading.current_thread().name

    with translation.override("zh-hans"):
        got = list(services._prefetched(items()))
    assert [n for n, _lang, _thread in got] == [0, 1, 2, 3, 4]
    assert {lang for _n, lang, _thread in got} == {"zh-hans"}
    assert {thread for _n, _lang, thread in got} == {"csv-import-read"}


def test_the_reading_thread_raises_in_the_caller_and_stops_with_it():
    produced: list[int] = []

    def failing() -> Iterator[int]:
        yield 1
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(UnicodeDecodeError):
        list(services._prefetched(failing()))

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    chunks = services._prefetched(endless())
    assert next(chunks) == 0
    chunks.close()  # the caller stops (time budget, a crash): so does the thread
    for thread in threading.enumerate():
        if thread.name == "csv-import-read":
            thread.join(timeout=5)
            assert not thread.is_alive()
    assert len(produced) <= 3  # one handed over, at most one waiting, one being made


# --- Fast paths agree with the slow ones ----------------------------------------------------------

_validate_email = EmailValidator()


def _django_accepts(email: str) -> bool:
    try:
        _validate_email(email)
    except ValidationError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.emails(),
        st.text(max_size=40),
        st.from_regex(r"[^@]{0,20}@[^@]{0,20}", fullmatch=True),
    )
)
def test_the_email_check_answers_what_emailvalidator_answers(email):
    assert parsing._email_valid(email) == _django_accepts(email)


@pytest.mark.parametrize(
    "email",
    ["a@localhost", "a@[127.0.0.1]", "a@[::1]", '"quoted user"@example.com', "a@b", "a@-x.com"],
)
def test_the_email_check_leaves_the_unusual_to_emailvalidator(email):
    assert parsing._email_valid(email) == _django_accepts(email)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_phones_are_normalised_as_identities_are(value):
    assert parsing._phone(value.strip()) == normalise(Identity.Kind.PHONE, value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5))
def test_properties_are_written_as_json(properties: dict[str, Any]):
    assert json.loads(services._json_object(properties)) == properties


@pytest.mark.django_db
def test_properties_with_quotes_and_any_script_arrive_as_written():
    data = csv_bytes(
        [
            ["email", "Note", "Ville"],
            ["q@example.com", 'said "hi", then \\ left', "Zürich 東京"],
        ]
    )
    run(started(data))
    contact = Contact.objects.get(email="q@example.com")
    assert contact.properties == {"Note": 'said "hi", then \\ left', "Ville": "Zürich 東京"}
