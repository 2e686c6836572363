"""The ad spend API on the API foundation: API keys with the `ad_spend` scope."""

from __future__ import annotations

import json

from django.urls import reverse

from analytics.models import AdSpend
from growth.api.keys import api_key_create
from growth.roles import Role

ROW = {"date": "2024-01-01", "channel": "google / cpc", "campaign": "Brand", "cost": "12.50"}


def test_a_key_with_the_ad_spend_scope_reads_and_writes(client, user_with_role):
    admin = user_with_role(Role.ADMIN)
    reader = api_key_create(name="r", scopes={"ad_spend": "read"}, created_by=admin).plain
    writer = api_key_create(name="w", scopes={"ad_spend": "write"}, created_by=admin).plain
    url, body = reverse("api_ad_spend"), json.dumps([ROW])

    def post(key: str):  # type: ignore[no-untyped-def]
        return client.post(
            url, body, content_type="application/json", headers={"Authorization": f"Bearer {key}"}
        )

    refused = post(reader)
    assert refused.status_code == 403
    assert "ad_spend:write" in refused.json()["error"]["message"]
    assert AdSpend.objects.count() == 0
    assert post(writer).json() == {"rows": 1, "created": 1, "updated": 0}
    listed = client.get(url, headers={"Authorization": f"Bearer {reader}"}).json()
    assert listed["count"] == 1 and listed["results"][0]["campaign"] == "Brand"


def test_a_key_without_the_scope_is_refused(client, user_with_role):
    admin = user_with_role(Role.ADMIN)
    key = api_key_create(name="c", scopes={"contacts": "write"}, created_by=admin).plain
    response = client.get(reverse("api_ad_spend"), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
