"""Ad-spend import end to end: upload → run → rows, all or nothing, re-import with one effect,
conversion to the cent, the pages and who may open them, the API, and constant queries."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics import api_spend
from analytics.models import AdSpend, OtherCost, SpendImport
from analytics.services import spend as services
from growth import navigation
from growth.models import CurrencyRate
from growth.roles import Role
from leads.csv_import import parsing

pytestmark = pytest.mark.django_db

Status = SpendImport.Status

GOOGLE = """\
Campaign report
"January 1, 2024 - January 2, 2024"
Day,Campaign,Currency code,Cost,Clicks,Impr.
2024-01-01,Brand search,USD,"1,234.56","1,020","12,345"
2024-01-01,Shopping,USD,87.10,150,"4,800"
2024-01-02,Brand search,USD,99.00,80,900
Total: Account,,USD,"1,420.66","1,250","18,045"
Total: Campaigns,,USD,"1,420.66","1,250","18,045"
"""
BAD_GOOGLE = """\
Campaign report
"January 1, 2024 - January 3, 2024"
Day,Campaign,Currency code,Cost,Clicks,Impr.
2024-01-01,Brand search,USD,5.00,1,1
2024-01-02,Brand search,USD,-3.00,1,1
not a day,Brand search,USD,5.00,1,1
2024-01-03,Brand search,USD,5.00,1,1
"""
META = """\
Reporting starts,Reporting ends,Campaign name,Impressions,Link clicks,Amount spent (EUR)
2024-01-01,2024-01-01,Spring sale,1000,20,0.10
2024-01-02,2024-01-02,Spring sale,1000,20,45.67
"""


def google_rows(n: int) -> str:
    """A Google Ads export of n days of one campaign."""
    lines = ["Campaign report", "All time", "Day,Campaign,Currency code,Cost,Clicks,Impr."]
    lines += [
        f"{date.fromordinal(738886 + i).isoformat()},Brand,USD,{i}.25,{i},{i * 10}"
        for i in range(n)
    ]
    lines.append(f"Total: Campaigns,,USD,0,{n},0")
    return "\n".join(lines) + "\n"


def uploaded(
    text: str, layout: str = "google_ads", channel: str = "", name: str = "spend.csv"
) -> SpendImport:
    return services.spend_import_upload(
        file=SimpleUploadedFile(name, text.encode(), content_type="text/csv"),
        layout=layout,
        channel=channel,
        user=None,
    )


def imported(text: str, layout: str = "google_ads", channel: str = "") -> SpendImport:
    spend_import = uploaded(text, layout, channel)
    return services.spend_import_run(spend_import=spend_import, mapping=spend_import.mapping)


def figures() -> list[tuple[date, str, str, Decimal, int, int]]:
    return list(
        AdSpend.objects.order_by("day", "campaign").values_list(
            "day", "channel", "campaign", "cost", "clicks", "impressions"
        )
    )


def post_file(
    client: Client,
    text: str,
    layout: str = "google_ads",
    channel: str = "",
    name: str = "spend.csv",
):  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile(name, text.encode(), content_type="text/csv")
    return client.post(
        reverse("ad_spend_upload"), {"layout": layout, "file": upload, "channel": channel}
    )


# --- Upload and run ---------------------------------------------------------------------------


def test_upload_keeps_the_raw_file_and_describes_it():
    spend_import = uploaded(GOOGLE, name="january.csv")
    stored = SpendImport.objects.get(pk=spend_import.pk)
    assert bytes(stored.file) == GOOGLE.encode()
    assert stored.filename == "january.csv"
    assert stored.status == Status.UPLOADED
    assert stored.header == ["Day", "Campaign", "Currency code", "Cost", "Clicks", "Impr."]
    assert stored.sample[0] == {
        "row": 4,
        "cells": ["2024-01-01", "Brand search", "USD", "1,234.56", "1,020", "12,345"],
    }
    assert stored.mapping["cost"] == "Cost"
    assert stored.channel == "google / cpc"
    assert AdSpend.objects.count() == 0  # nothing before the run


def test_run_imports_every_row():
    spend_import = imported(GOOGLE)
    assert spend_import.status == Status.DONE
    assert (spend_import.rows_total, spend_import.rows_imported) == (5, 3)
    assert figures() == [
        (date(2024, 1, 1), "google / cpc", "Brand search", Decimal("1234.56"), 1020, 12345),
        (date(2024, 1, 1), "google / cpc", "Shopping", Decimal("87.10"), 150, 4800),
        (date(2024, 1, 2), "google / cpc", "Brand search", Decimal("99.00"), 80, 900),
    ]
    assert set(AdSpend.objects.values_list("spend_import", flat=True)) == {spend_import.pk}
    assert set(AdSpend.objects.values_list("cost_base", flat=True)) == {
        Decimal("1234.56"),
        Decimal("87.10"),
        Decimal("99.00"),
    }


def test_a_file_with_any_bad_row_writes_nothing_and_keeps_the_report():
    imported(GOOGLE)
    before = figures()
    spend_import = imported(BAD_GOOGLE)
    assert spend_import.status == Status.FAILED
    assert spend_import.rows_imported == 0
    assert spend_import.errors == [
        {"row": 5, "column": "Cost", "value": "-3.00", "message": "the cost cannot be negative"},
        {
            "row": 6,
            "column": "Day",
            "value": "not a day",
            "message": "not a date; write it as YYYY-MM-DD (for example 2024-01-31)",
        },
    ]
    # The good rows of the bad file (2024-01-01 at 5.00 among them) changed nothing.
    assert figures() == before


def test_reimporting_the_same_file_has_one_effect():
    first = imported(GOOGLE)
    rows_before = list(AdSpend.objects.order_by("pk").values_list("pk", "day", "campaign", "cost"))
    second = imported(GOOGLE)
    assert second.status == Status.DONE
    assert (
        list(AdSpend.objects.order_by("pk").values_list("pk", "day", "campaign", "cost"))
        == rows_before
    )
    assert set(AdSpend.objects.values_list("spend_import", flat=True)) == {second.pk}
    assert first.pk != second.pk


def test_a_corrected_file_replaces_the_days_figure():
    imported(GOOGLE)
    imported(GOOGLE.replace("99.00,80,900", "101.50,81,901"))
    assert AdSpend.objects.count() == 3
    assert AdSpend.objects.get(day=date(2024, 1, 2)).cost == Decimal("101.50")


def test_conversion_to_the_base_currency_exact_to_the_cent():
    CurrencyRate.objects.create(currency="EUR", rate_to_base=Decimal("1.25000000"))
    spend_import = imported(META, layout="meta_ads")
    assert spend_import.status == Status.DONE, spend_import.errors
    rows = {r.day: r for r in AdSpend.objects.all()}
    assert rows[date(2024, 1, 1)].currency == "EUR"
    assert rows[date(2024, 1, 1)].rate_to_base == Decimal("1.25")
    # 0.10 x 1.25 = 0.125: half up to 0.13 (banker's rounding would give 0.12).
    assert rows[date(2024, 1, 1)].cost_base == Decimal("0.13")
    # 45.67 x 1.25 = 57.0875 → 57.09
    assert rows[date(2024, 1, 2)].cost_base == Decimal("57.09")
    assert rows[date(2024, 1, 2)].channel == "facebook / paid-social"


def test_unknown_currency_fails_until_its_rate_exists(client_as):
    spend_import = imported(META, layout="meta_ads")
    assert spend_import.status == Status.FAILED
    assert [(e["row"], e["column"], e["value"]) for e in spend_import.errors] == [
        (2, "Amount spent (EUR)", "EUR"),
        (3, "Amount spent (EUR)", "EUR"),
    ]
    assert "no exchange rate for EUR" in spend_import.errors[0]["message"]
    assert AdSpend.objects.count() == 0

    CurrencyRate.objects.create(currency="EUR", rate_to_base=Decimal("1.1"))
    client = client_as(Role.MARKETER)
    response = client.post(reverse("ad_spend_import", args=[spend_import.pk]), {"action": "retry"})
    assert response.status_code == 302 and response["Location"] == reverse("ad_spend")
    assert SpendImport.objects.get(pk=spend_import.pk).status == Status.DONE
    assert AdSpend.objects.count() == 2


def test_the_base_currency_needs_no_rate(settings):
    settings.GROWTH_BASE_CURRENCY = "EUR"
    assert imported(META, layout="meta_ads").status == Status.DONE
    assert set(AdSpend.objects.values_list("rate_to_base", "cost_base")) == {
        (Decimal("1"), Decimal("0.10")),
        (Decimal("1"), Decimal("45.67")),
    }


def test_a_wrong_layout_fails_at_upload_with_the_file_kept():
    spend_import = uploaded(GOOGLE, layout="meta_ads")
    assert spend_import.status == Status.FAILED
    assert bytes(SpendImport.objects.get(pk=spend_import.pk).file) == GOOGLE.encode()
    [error] = spend_import.errors
    assert error["row"] is None
    assert "not a Meta Ads export" in error["message"]


def test_a_done_import_is_not_run_again():
    spend_import = imported(GOOGLE)
    with pytest.raises(ValidationError):
        services.spend_import_run(spend_import=spend_import, mapping=spend_import.mapping)


def test_too_many_errors_are_capped_with_a_count(monkeypatch):
    monkeypatch.setattr(services.spend_csv, "MAX_ERRORS", 2)
    spend_import = imported(google_rows(5).replace(",USD,", ",USD,-"))
    assert len(spend_import.errors) == 3
    assert spend_import.errors[-1]["row"] is None
    assert "3 more problems" in spend_import.errors[-1]["message"]


def test_import_queries_do_not_grow_with_the_rows(django_assert_max_num_queries):
    counts = []
    for n in (5, 400):
        AdSpend.objects.all().delete()
        spend_import = uploaded(google_rows(n))
        with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(10):
            services.spend_import_run(spend_import=spend_import, mapping=spend_import.mapping)
        counts.append(len(captured))
        inserts = [q for q in captured if q["sql"].startswith('INSERT INTO "analytics_adspend"')]
        assert len(inserts) == 1  # every row in one upsert statement
        assert AdSpend.objects.count() == n
    assert counts[0] == counts[1]


# --- Pages -------------------------------------------------------------------------------------


def test_empty_state_says_what_to_do(client_as):
    body = client_as(Role.MARKETER).get(reverse("ad_spend")).content.decode()
    section = navigation.get("ad_spend")
    assert str(section.what) in body and str(section.how) in body
    assert 'data-testid="empty"' in body
    assert "Time → Day" in body


def test_upload_page_imports_a_google_export_and_lists_it(client_as):
    client = client_as(Role.MARKETER)
    assert client.get(reverse("ad_spend_upload")).status_code == 200
    response = post_file(client, GOOGLE, name="google.csv")
    assert response.status_code == 302 and response["Location"] == reverse("ad_spend")
    page = client.get(reverse("ad_spend"))
    body = page.content.decode()
    assert "google.csv: 3 rows imported. 2 blank or totals rows skipped." in body
    assert "Brand search" in body and "Shopping" in body
    assert page.context["totals"].cost_base == Decimal("1420.66")
    assert page.context["totals"].clicks == 1250


def test_upload_page_with_a_channel_override(client_as):
    post_file(client_as(Role.MARKETER), GOOGLE, channel="google / paid")
    assert set(AdSpend.objects.values_list("channel", flat=True)) == {"google / paid"}


def test_failed_upload_shows_the_row_report_and_imports_nothing(client_as):
    client = client_as(Role.MARKETER)
    response = post_file(client, BAD_GOOGLE)
    spend_import = SpendImport.objects.get()
    assert response["Location"] == reverse("ad_spend_import", args=[spend_import.pk])
    body = client.get(response["Location"]).content.decode()
    assert "Nothing was imported" in body
    assert "the cost cannot be negative" in body and "-3.00" in body
    assert "<td>5</td><td>Cost</td>" in body
    assert AdSpend.objects.count() == 0


def test_file_over_the_size_limit_is_refused_before_it_is_stored(client_as, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_FILE_BYTES", 100)
    response = post_file(client_as(Role.MARKETER), GOOGLE)
    assert response.status_code == 200
    assert "the limit is" in response.content.decode()
    assert SpendImport.objects.count() == 0


GENERIC = "Date;Source;Campaign;Spend;Clicks\n2024-02-01;bing / cpc;Launch;10,50;3\n2024-02-02;;Launch;4;1\n"


def test_generic_file_goes_through_the_mapping_page(client_as):
    client = client_as(Role.MARKETER)
    response = post_file(client, GENERIC, layout="generic")
    spend_import = SpendImport.objects.get()
    url = reverse("ad_spend_import", args=[spend_import.pk])
    assert response["Location"] == url
    page = client.get(url).content.decode()
    assert "Map the columns of spend.csv" in page
    assert '<option value="Spend" selected>' in page  # guessed from the names
    assert '<option value="Source" selected>' in page

    # The preview follows the selects (htmx), nothing imported yet.
    mapping = {
        "date": "Date",
        "channel": "Source",
        "campaign": "Campaign",
        "cost": "Spend",
        "clicks": "Clicks",
    }
    preview = client.post(
        url, {**mapping, "channel_name": "", "action": "preview"}, headers={"HX-Request": "true"}
    )
    body = preview.content.decode()
    assert 'id="preview"' in body and "<html" not in body
    assert "10.50" in body and "the channel is missing" in body
    assert AdSpend.objects.count() == 0

    done = client.post(url, {**mapping, "channel_name": "bing / cpc", "action": "import"})
    assert done["Location"] == reverse("ad_spend")
    assert figures() == [
        (date(2024, 2, 1), "bing / cpc", "Launch", Decimal("10.50"), 3, 0),
        (date(2024, 2, 2), "bing / cpc", "Launch", Decimal("4.00"), 1, 0),
    ]
    assert SpendImport.objects.get().mapping == mapping


def test_generic_import_without_the_needed_columns_stays_on_the_mapping(client_as):
    client = client_as(Role.MARKETER)
    post_file(client, GENERIC, layout="generic")
    spend_import = SpendImport.objects.get()
    url = reverse("ad_spend_import", args=[spend_import.pk])
    response = client.post(url, {"date": "Date", "action": "import"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Choose the column that holds the cost" in body
    assert "Say which channel" in body
    assert SpendImport.objects.get().status == Status.UPLOADED
    assert AdSpend.objects.count() == 0


def test_list_filters_and_totals(client_as):
    imported(GOOGLE)
    CurrencyRate.objects.create(currency="EUR", rate_to_base=Decimal("2"))
    imported(META, layout="meta_ads")
    client = client_as(Role.MARKETER)
    page = client.get(reverse("ad_spend"), {"channel": "facebook / paid-social"})
    assert page.context["totals"].cost_base == Decimal("91.54")  # (0.10 + 45.67) x 2
    assert page.context["totals"].rows == 2
    page = client.get(reverse("ad_spend"), {"start": "2024-01-02", "end": "2024-01-02"})
    assert page.context["totals"].rows == 2
    page = client.get(reverse("ad_spend"), {"campaign": "shop"})
    assert [r.campaign for r in page.context["page"].object_list] == ["Shopping"]
    page = client.get(reverse("ad_spend"), {"start": "2024-01-05", "end": "2024-01-01"})
    assert "The period ends before it starts." in page.content.decode()
    page = client.get(reverse("ad_spend"), {"channel": "tiktok / paid-social"})
    assert page.context["totals"].rows == 0  # a channel without spend: nothing, not everything
    assert "No spend matches these filters." in page.content.decode()


def test_list_queries_are_bounded(client_as, django_assert_max_num_queries):
    imported(google_rows(150))
    client = client_as(Role.MARKETER)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("ad_spend"))
    assert len(response.context["page"].object_list) == 100


@pytest.mark.parametrize("role", [Role.REP, Role.MANAGER, Role.SALES_MANAGER, Role.ADMIN])
def test_other_roles_are_refused(client_as, role):
    client = client_as(role)
    spend_import = uploaded(GOOGLE)
    for url in [
        reverse("ad_spend"),
        reverse("ad_spend_upload"),
        reverse("ad_spend_import", args=[spend_import.pk]),
        reverse("ad_spend_other_costs"),
        reverse("api_ad_spend"),
    ]:
        assert client.get(url).status_code == 403, url
    assert post_file(client, GOOGLE).status_code == 403
    response = client.post(reverse("api_ad_spend"), "[]", content_type="application/json")
    assert response.status_code == 403
    assert "Marketer" in response.json()["error"]["message"]
    assert AdSpend.objects.count() == 0


def test_anonymous_is_sent_to_sign_in_or_refused(client):
    response = client.get(reverse("ad_spend"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(reverse("api_ad_spend")).status_code in (401, 403)
    response = client.post(reverse("api_ad_spend"), "[]", content_type="application/json")
    assert response.status_code in (401, 403)


def test_pages_and_api_check_csrf(user_with_role):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role(Role.MARKETER))
    assert post_file(client, GOOGLE).status_code == 403
    row = {"date": "2024-01-01", "channel": "x / y", "cost": 1}
    response = client.post(
        reverse("api_ad_spend"), json.dumps([row]), content_type="application/json"
    )
    assert response.status_code == 403
    assert SpendImport.objects.count() == 0 and AdSpend.objects.count() == 0


# --- Other costs -------------------------------------------------------------------------------


def test_other_cost_added_on_the_page_and_converted(client_as):
    CurrencyRate.objects.create(currency="EUR", rate_to_base=Decimal("1.1"))
    client = client_as(Role.MARKETER)
    assert 'data-testid="empty"' in client.get(reverse("ad_spend_other_costs")).content.decode()
    response = client.post(
        reverse("ad_spend_other_costs"),
        {
            "kind": "agency",
            "description": "Agency retainer",
            "starts_on": "2024-01-01",
            "ends_on": "2024-01-31",
            "amount": "1000.05",
            "currency": "eur",
            "channel": "",
        },
    )
    assert response.status_code == 302
    cost = OtherCost.objects.get()
    assert (cost.currency, cost.amount, cost.amount_base) == (
        "EUR",
        Decimal("1000.05"),
        Decimal("1100.06"),
    )
    assert "Agency retainer" in client.get(reverse("ad_spend_other_costs")).content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_on": "2023-12-31"}, "The period ends before it starts."),
        ({"currency": "JPY"}, "No exchange rate for JPY"),
        ({"amount": "-1"}, "greater than or equal to 0"),
    ],
)
def test_other_cost_validation(client_as, changes, message):
    data = {
        "kind": "tools",
        "starts_on": "2024-01-01",
        "ends_on": "2024-01-31",
        "amount": "10",
        "currency": "USD",
    }
    response = client_as(Role.MARKETER).post(reverse("ad_spend_other_costs"), {**data, **changes})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert OtherCost.objects.count() == 0


def test_other_cost_service_refuses_a_negative_amount():
    with pytest.raises(ValidationError) as caught:
        services.other_cost_save(
            kind="tools",
            starts_on=date(2024, 1, 1),
            ends_on=date(2024, 1, 31),
            amount=Decimal("-1"),
            currency="USD",
        )
    assert "amount" in caught.value.message_dict


def test_other_cost_delete(client_as):
    cost = services.other_cost_save(
        kind="tools",
        starts_on=date(2024, 1, 1),
        ends_on=date(2024, 1, 31),
        amount=Decimal("5"),
        currency="USD",
    )
    client = client_as(Role.MARKETER)
    assert client.get(reverse("ad_spend_other_cost_delete", args=[cost.pk])).status_code == 405
    client.post(reverse("ad_spend_other_cost_delete", args=[cost.pk]))
    assert OtherCost.objects.count() == 0


# --- API ----------------------------------------------------------------------------------------

ROWS = [
    {
        "date": "2024-01-01",
        "channel": "google / cpc",
        "campaign": "Brand",
        "cost": "12.50",
        "currency": "USD",
        "clicks": 10,
        "impressions": 100,
    },
    {
        "date": "2024-01-02",
        "channel": "google / cpc",
        "campaign": "Brand",
        "cost": 7.25,
        "clicks": 3,
        "impressions": 40,
    },
]


def post_rows(client: Client, body: object):  # type: ignore[no-untyped-def]
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(reverse("api_ad_spend"), data, content_type="application/json")


def test_api_saves_rows_and_a_retry_has_one_effect(client_as):
    client = client_as(Role.MARKETER)
    response = post_rows(client, ROWS)
    assert response.status_code == 201
    assert response.json() == {"rows": 2, "created": 2, "updated": 0}
    assert figures() == [
        (date(2024, 1, 1), "google / cpc", "Brand", Decimal("12.50"), 10, 100),
        (date(2024, 1, 2), "google / cpc", "Brand", Decimal("7.25"), 3, 40),
    ]
    again = post_rows(client, ROWS)
    assert again.json() == {"rows": 2, "created": 0, "updated": 2}
    assert AdSpend.objects.count() == 2
    assert set(AdSpend.objects.values_list("spend_import", flat=True)) == {None}


def test_api_lists_with_filters_and_pages(client_as):
    client = client_as(Role.MARKETER)
    post_rows(client, ROWS)
    imported(GOOGLE)
    url = reverse("api_ad_spend")
    everything = client.get(url).json()
    assert everything["count"] == 5
    first = client.get(
        url,
        {"from": "2024-01-02", "to": "2024-01-02", "channel": "google / cpc", "campaign": "bra"},
    ).json()
    assert [(r["date"], r["campaign"], r["cost"], r["cost_base"]) for r in first["results"]] == [
        ("2024-01-02", "Brand", "7.25", "7.25"),
        ("2024-01-02", "Brand search", "99.00", "99.00"),
    ]
    paged = client.get(url, {"page_size": 2}).json()
    assert len(paged["results"]) == 2 and paged["next"]
    bad = client.get(url, {"from": "someday"})
    assert bad.status_code == 400 and "from" in bad.json()["error"]["fields"]


def test_api_bad_rows_are_all_reported_and_nothing_is_written(client_as):
    rows = [
        ROWS[0],
        {"date": "2024-02-30", "channel": "google / cpc", "cost": "-1"},
        {"date": "2024-01-03", "channel": "google / cpc", "cost": 1, "currency": "XYZ"},
        ROWS[0],
    ]
    response = post_rows(client_as(Role.MARKETER), rows)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [
        (2, "date"),
        (2, "cost"),
        (3, "currency"),
        (4, None),
    ]
    assert "no exchange rate for XYZ" in errors[2]["message"]
    assert "rows 1 and 4" in errors[3]["message"]
    assert AdSpend.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('[{"date": "2024-01-01",', "not valid JSON"),
        ('{"date": "2024-01-01"}', "must be a JSON list"),
        ("", "must be a JSON list"),
    ],
)
def test_api_malformed_bodies_get_a_400_with_a_message(client_as, body, words):
    response = post_rows(client_as(Role.MARKETER), body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert words in error["message"]


def test_api_refuses_more_rows_than_the_cap(client_as):
    rows = [
        {"date": "2024-01-01", "channel": "c", "campaign": str(i), "cost": 1}
        for i in range(api_spend.MAX_ROWS + 1)
    ]
    response = post_rows(client_as(Role.MARKETER), rows)
    assert response.status_code == 400
    assert "at most 10000" in response.json()["errors"][0]["message"]
    assert AdSpend.objects.count() == 0


def test_api_refuses_a_body_over_the_byte_cap(client_as, monkeypatch):
    monkeypatch.setattr(api_spend, "MAX_BODY_BYTES", 50)
    response = post_rows(client_as(Role.MARKETER), ROWS)
    assert response.status_code == 400
    assert "larger than" in response.json()["errors"][0]["message"]
    assert AdSpend.objects.count() == 0


def test_api_save_queries_do_not_grow_with_the_rows(client_as, django_assert_max_num_queries):
    client = client_as(Role.MARKETER)
    counts = []
    for n in (3, 300):
        rows = [
            {"date": "2024-01-01", "channel": "c", "campaign": f"{n}-{i}", "cost": 1}
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(12):
            assert post_rows(client, rows).status_code == 201
        counts.append(len(captured))
    assert counts[0] == counts[1]
