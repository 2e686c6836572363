"""The OpenAPI schema generates without warnings; the docs page serves Swagger UI from our
own static files under the CSP."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/v1/contacts/",
        "/api/v1/events/{id}/",
        "/api/v1/orders/",
        "/api/v1/ad-spend/",
        "/api/v1/segments/{id}/members/",
        "/api/v1/deliveries/",
        "/api/v1/journeys/{id}/runs/",
        "/api/v1/journeys/{id}/enroll/",
        "/api/v1/contacts/{id}/lifecycle/move/",
        "/api/v1/contacts/{id}/scores/{model}/",
        "/api/v1/cadences/{id}/enroll/",
        "/api/v1/enrollments/{id}/stop/",
        "/api/v1/kpis/",
    ):
        assert f"  {path}:" in text
    assert "scheme: bearer" in text
    assert "Scope: `contacts:write`" in text
    assert "#/components/schemas/Error" in text


def test_the_schema_is_public_json_or_yaml(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key: `Authorization: Bearer grw_…`.",
    }
    assert "Authorization: Bearer" in schema["info"]["description"]
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_the_docs_use_local_assets_and_no_inline_code(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # every script is a file
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources  # no CDN
    for source in sources:
        answer = client.get(source)
        assert answer.status_code == 200, source
    script = next(s for s in sources if "script" in s and "/static/" not in s)
    init = client.get(script)
    assert init["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in init.content.decode()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_has_a_clean_console(live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
            headless=True,
        )
        page = browser.new_page()
        problems: list[str] = []
        page.on(
            "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{live_server.url}/api/docs/")
        page.wait_for_selector(".opblock-tag", timeout=20_000)
        assert page.locator("text=contacts").first.is_visible()
        browser.close()
    assert problems == []
