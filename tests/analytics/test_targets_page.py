"""Funnel targets: set on their page, shown on the funnels, refused when not a share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.models import FunnelTarget
from growth.roles import Role

pytestmark = pytest.mark.django_db


def test_a_manager_sets_and_clears_targets(client_as) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.MANAGER)
    assert client.get("/dashboards/targets/").status_code == 200

    response = client.post("/dashboards/targets/", {"shop__carts": "25", "lead__sql": "40.5"})

    assert response.status_code == 302
    assert set(FunnelTarget.objects.values_list("funnel", "step", "rate")) == {
        ("shop", "carts", Decimal("0.2500")),
        ("lead", "sql", Decimal("0.4050")),
    }
    page = client.get("/dashboards/targets/")
    assert b'value="25"' in page.content and b'value="40.5"' in page.content

    client.post("/dashboards/targets/", {"shop__carts": "30"})

    assert list(FunnelTarget.objects.values_list("step", "rate")) == [("carts", Decimal("0.3000"))]
    assert b"Set the targets" in client.get("/dashboards/").content


@pytest.mark.parametrize("value", ["0", "101", "-5", "lots"])
def test_a_target_must_be_a_share(client_as, value) -> None:  # type: ignore[no-untyped-def]
    response = client_as(Role.MARKETER).post("/dashboards/targets/", {"shop__carts": value})
    assert response.status_code == 400
    assert not FunnelTarget.objects.exists()


def test_roles_without_dashboards_cannot_set_targets(client_as) -> None:  # type: ignore[no-untyped-def]
    client = client_as(Role.REP)
    assert client.get("/dashboards/targets/").status_code == 403
    assert client.post("/dashboards/targets/", {"shop__carts": "25"}).status_code == 403
    assert not FunnelTarget.objects.exists()
