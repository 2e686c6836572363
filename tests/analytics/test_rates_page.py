"""The currency rates page: marketers keep the rates orders and spend are converted at."""

from __future__ import annotations

from decimal import Decimal

import pytest

from growth.models import CurrencyRate
from growth.roles import Role

pytestmark = pytest.mark.django_db


def test_a_marketer_adds_changes_and_deletes_a_rate(client_as, settings) -> None:  # type: ignore[no-untyped-def]
    settings.GROWTH_BASE_CURRENCY = "USD"
    client = client_as(Role.MARKETER)
    page = client.get("/ad-spend/rates/")
    assert page.status_code == 200 and b'data-testid="empty"' in page.content

    client.post("/ad-spend/rates/", {"currency": "eur", "rate_to_base": "1.08"})
    client.post("/ad-spend/rates/", {"currency": "EUR", "rate_to_base": "1.1"})

    assert list(CurrencyRate.objects.values_list("currency", "rate_to_base")) == [
        ("EUR", Decimal("1.1"))
    ]
    client.post("/ad-spend/rates/EUR/delete/")
    assert not CurrencyRate.objects.exists()


@pytest.mark.parametrize(
    ("currency", "rate", "message"),
    [
        ("EU", "1", b"Ensure this value has at least 3 characters"),
        ("E1R", "1", b"three letters"),
        ("USD", "1", b"reporting currency"),
        ("EUR", "-1", b"greater than or equal to"),
        ("EUR", "lots", b"Enter a number"),
    ],
)
def test_bad_rates_are_refused_with_a_reason(client_as, settings, currency, rate, message) -> None:  # type: ignore[no-untyped-def]
    settings.GROWTH_BASE_CURRENCY = "USD"
    response = client_as(Role.MARKETER).post(
        "/ad-spend/rates/", {"currency": currency, "rate_to_base": rate}
    )
    assert response.status_code == 400 and message in response.content
    assert not CurrencyRate.objects.exists()


@pytest.mark.parametrize("role", [Role.REP, Role.MANAGER, Role.ADMIN, Role.SALES_MANAGER])
def test_other_roles_may_not_touch_rates(client_as, role) -> None:  # type: ignore[no-untyped-def]
    client = client_as(role)
    assert client.get("/ad-spend/rates/").status_code == 403
    assert (
        client.post("/ad-spend/rates/", {"currency": "EUR", "rate_to_base": "1"}).status_code == 403
    )
    assert not CurrencyRate.objects.exists()
