"""A rep whose language is Simplified Chinese works the queue and opens the contact in
Chinese, whatever the browser asks for: menus, buttons and the lead card. The rep also
leads the team (sales manager): the rep role alone does not open contact pages."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from cadences.models import Cadence
from cadences.services.enrollment import enrollment_start
from growth.roles import Role
from tests.cadences.helpers import mql, published
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

ENGLISH_NAV = ["Home", "Queue", "Contacts", "Cadences", "Team", "Sales", "Sign out", "Password"]


def test_a_chinese_rep_works_the_queue_in_chinese(page: Page, user_with_role) -> None:  # type: ignore[no-untyped-def]
    cadence = published("Shared", assignment=Cadence.Assignment.POOL)
    lead = mql(1, first_name="Lin", last_name="Wei")
    enrollment_start(contact=lead, key="k1", cadence=cadence, assign=False)
    rep = user_with_role(Role.REP, Role.SALES_MANAGER, username="wei", language="zh-hans")

    sign_in(page, rep.username, PASSWORD)  # the browser asks for English (en-US)
    expect(page).not_to_have_url(re.compile(r"/login/"))
    page.goto("/queue/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    nav = page.get_by_test_id("nav")
    expect(nav).to_contain_text("首页")
    expect(nav).to_contain_text("队列")
    expect(page.locator(".topbar")).to_contain_text("退出登录")
    chrome = nav.inner_text() + page.locator(".topbar").inner_text()
    assert not [word for word in ENGLISH_NAV if re.search(rf"\b{word}\b", chrome)], chrome
    expect(page.get_by_test_id("queue-card")).to_contain_text("Lin")
    expect(page.get_by_role("button", name="记录并处理下一条")).to_be_visible()

    page.get_by_test_id("queue-contact-link").click()  # the lead's name opens its page
    expect(page).to_have_url(re.compile(rf"/contacts/{lead.pk}/"))
    expect(page.get_by_role("link", name="← 所有联系人")).to_be_visible()
    expect(page.get_by_role("heading", name="时间线")).to_be_visible()
    chrome = page.get_by_test_id("nav").inner_text() + page.locator(".topbar").inner_text()
    assert not [word for word in ENGLISH_NAV if re.search(rf"\b{word}\b", chrome)], chrome
