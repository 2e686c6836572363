"""An outside integrator's whole path (issue #9's "done when"): the admin creates a key in the
browser and copies it once, the integrator reads /api/docs/ and scripts Growth over plain
HTTP with nothing but the key: a contact in, its stage moved, onto a cadence, the KPIs out;
a missing scope is a 403 that names it, and once the admin revokes the key it is a 401."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from cadences.models import Enrollment
from growth.models import AuditEvent
from growth.roles import Role
from leads.models import StageChange
from tests.cadences.helpers import published
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

SCOPES = {
    "contacts": "write",
    "lifecycle": "write",
    "cadences": "write",
    "kpis": "read",
}


class Integrator:
    """A script on another machine: HTTP and the key, no session, no cookies."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.http.request(
            method, f"{self.base}/api/v1/{path}", json=body, params=params or None, timeout=20
        )
        assert response.headers["Content-Type"].startswith("application/json"), response.text
        return response


def test_an_integrator_scripts_growth_with_a_key_the_admin_made(
    page: Page, live_server: Any, user_with_role: Any
) -> None:
    admin = user_with_role(Role.ADMIN, username="ada")
    fast = published("Fast")

    # The admin makes the key in the browser, one scope level per resource.
    sign_in(page, admin.username, PASSWORD)
    page.goto("/settings/api-keys/")
    page.get_by_test_id("new-key").click()
    page.get_by_label("Name").fill("Shop CRM sync")
    for resource, level in SCOPES.items():
        page.locator(f'input[name="scope_{resource}"][value="{level}"]').check()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_test_id("shown-once")).to_be_visible()
    key = page.get_by_test_id("api-key-plain").inner_text().strip()
    assert len(key) > 30

    # The reference is readable by anyone holding the address: the new resources are in it.
    page.goto("/api/docs/")
    expect(page.get_by_text("/api/v1/contacts/{id}/lifecycle/move/").first).to_be_visible()
    expect(page.get_by_text("/api/v1/cadences/{id}/enroll/").first).to_be_visible()
    expect(page.get_by_text("/api/v1/kpis/").first).to_be_visible()

    crm = Integrator(live_server.url, key)
    created = crm.call("POST", "contacts/", {"email": "mei@example.com", "first_name": "Mei"})
    assert created.status_code == 201, created.text
    contact = created.json()["id"]
    assert crm.call("PATCH", f"contacts/{contact}/", {"company": "ACME"}).json()["company"] == (
        "ACME"
    )

    moved = crm.call(
        "POST",
        f"contacts/{contact}/lifecycle/move/",
        {"to_stage": "mql", "reason": "Asked for a demo at the trade fair"},
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["latest"]["reason"] == "Asked for a demo at the trade fair"
    history = crm.call("GET", f"contacts/{contact}/lifecycle/changes/").json()["results"]
    assert history[0]["to_stage"] == "mql"
    change = StageChange.objects.get(contact_id=contact, to_stage="mql")
    assert change.actor_id == admin.pk  # the key acts for the admin who made it

    enrolled = crm.call("POST", f"cadences/{fast.pk}/enroll/", {"contact": contact, "key": "crm-1"})
    assert enrolled.status_code == 201, enrolled.text
    retried = crm.call("POST", f"cadences/{fast.pk}/enroll/", {"contact": contact, "key": "crm-1"})
    enrollment = enrolled.json()["enrollment"]["id"]
    assert retried.status_code == 200 and retried.json()["enrollment"]["id"] == enrollment
    assert Enrollment.objects.filter(contact_id=contact).count() == 1
    listed = crm.call("GET", "enrollments/", contact=contact).json()["results"]
    assert [row["id"] for row in listed] == [enrollment]

    kpis = crm.call("GET", "kpis/", days=30)
    assert kpis.status_code == 200, kpis.text

    # What the key was not given is refused by name; the admin revokes, the script stops.
    refused = crm.call("GET", "orders/")
    assert refused.status_code == 403 and "orders:read" in refused.json()["error"]["message"]
    page.goto("/settings/api-keys/")
    page.get_by_test_id("api-key").get_by_role("link", name="Revoke").click()
    page.get_by_test_id("confirm-revoke").click()
    expect(page.get_by_test_id("api-key")).to_contain_text("revoked")
    revoked = crm.call("GET", f"contacts/{contact}/")
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["error"]["message"].lower()
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        AuditEvent.Action.API_KEY_CREATED,
        AuditEvent.Action.API_KEY_REVOKED,
    }
