"""Under the strict CSP (no inline script, no inline style, no third-party origin) no page a
role opens reports a violation or a console error: the sign-in page, the home page and every
section in the role's menu, the audit log included."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from growth import navigation
from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

# Runs before any page script, outside the page's CSP (Playwright injects it).
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__csp || []")


@pytest.mark.parametrize("role", list(Role))
def test_no_page_of_a_role_breaks_the_content_security_policy(
    page: Page, live_server, user_with_role, role
) -> None:  # type: ignore[no-untyped-def]
    page.add_init_script(WATCH)
    user = user_with_role(role)
    page.goto("/login/")
    assert violations(page) == [], "sign-in page"
    sign_in(page, user.username, PASSWORD)
    expect(page.get_by_test_id("nav")).to_be_visible()
    assert violations(page) == [], "home page"

    keys = (
        page.get_by_test_id("nav")
        .locator("[data-section]")
        .evaluate_all("els => els.map(e => e.dataset.section)")
    )
    assert keys, "the role has a menu"
    for key in keys:
        response = page.goto(reverse(navigation.get(key).url_name))
        assert response is not None and response.status == 200, key
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, key
        page.wait_for_load_state("networkidle")
        assert violations(page) == [], f"{key}: {violations(page)}"
    # The page fixture fails the test on any console error (a blocked script logs one).
