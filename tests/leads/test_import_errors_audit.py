"""The CSV import's "download the rows that failed" hands out personal data as typed in the
file (e-mail addresses, phones, names): like every export it is in the audit log, with who,
from where and which import; a refused or unknown download records nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from growth.models import AuditEvent
from growth.roles import Role
from leads.models import ContactImport
from tests.leads.test_csv_import import csv_bytes, run, started

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_import() -> ContactImport:
    data = csv_bytes([["email", "first_name"], ["not-an-address", "Zed"], ["a@example.com", "A"]])
    contact_import = run(started(data))
    assert contact_import.failed_count == 1
    return contact_import


def test_downloading_the_failed_rows_is_audited(client, user_with_role, failed_import):
    user = user_with_role(Role.MARKETER)
    client.force_login(user)
    response = client.get(
        reverse("import_errors_csv", args=[failed_import.pk]), REMOTE_ADDR="203.0.113.9"
    )
    assert response.status_code == 200
    assert b"not-an-address" in b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == user and event.ip == "203.0.113.9"
    assert event.target == f"import #{failed_import.pk} contacts.csv: errors.csv"
    assert event.detail == {"import_id": failed_import.pk, "filename": "contacts.csv", "rows": 1}


def test_the_audit_page_shows_the_download(client_as, failed_import):
    client_as(Role.ADMIN).get(reverse("import_errors_csv", args=[failed_import.pk]))
    page = client_as(Role.ADMIN).get(reverse("audit"), {"action": "export"})
    assert f"import #{failed_import.pk} contacts.csv: errors.csv" in page.content.decode()


def test_a_refused_or_unknown_download_records_nothing(client_as, failed_import):
    assert (
        client_as(Role.REP).get(reverse("import_errors_csv", args=[failed_import.pk])).status_code
        == 403
    )
    unknown = client_as(Role.MARKETER).get(reverse("import_errors_csv", args=[999_999]))
    assert unknown.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
