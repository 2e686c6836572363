"""Every role does its job in Chinese: a user whose language is Simplified Chinese signs in
(the browser asks for English) and opens every page of her navigation. Each page is served as
zh-hans; its navigation, headings, table headers and buttons are Chinese (or a number, or a
name from the small list below); no date on it is written the English/ISO way; the names of
what Growth ships (RFM segments, MQL/SQL definitions, cadences, journeys, scoring rules) read
in Chinese."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from automations.journeys.shipped import shipped_install
from cadences.services.cadences import shipped_cadence_install
from growth.roles import Role
from leads.services.qualification import definitions_install_defaults
from leads.services.scoring import scoring_defaults_ensure
from leads.services.segments import rfm_install
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory, EventFactory, OrderFactory

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Proper names, acronyms and codes a Chinese UI writes as they are.
ALLOWED = {
    "Growth",
    "CSV",
    "API",
    "SendGrid",
    "Shopify",
    "WooCommerce",
    "Segment",
    "LinkedIn",
    "MQL",
    "SQL",
    "RFM",
    "NPS",
    "CAC",
    "CLV",
    "ROAS",
    "UTC",
    "UTM",
    "URL",
    "SMS",
    "HTTP",
    "JSON",
    "ID",
    "A/B",
    "USD",
    "Redis",
    "PostgreSQL",
    "Celery",
    "Webhook",
}
# What the test puts in the database: names of people and things, shown as they are.
DATA = {"Lin Wei", "Mei Chen", "Blue mug", "#1001"}
WORD = re.compile(r"[A-Za-z][A-Za-z/'-]*")
# Dates written the English way (2026-03-05, 03-05 14:30, Mar 5): visible text only, so
# <input type=date> values and data attributes (machine ISO) are not looked at.
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{2}-\d{2} \d{2}:\d{2}\b")
ENGLISH_MONTH = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{1,2}\b")
CHINESE_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
LOOKED_AT = "h1, h2, th, button, [data-testid=nav] a, .nav-group-label"

# Shipped names, as a Chinese reader must see them on the page that lists them.
SHIPPED_ON = {
    "/segments/": ["冠军客户", "沉睡客户", "已流失客户"],
    "/scoring/": ["浏览了商品", "开始结账"],
    "/scoring/definitions/": ["营销合格线索", "销售合格线索"],
    "/cadences/": ["7 天 7 次触达", "35 天 18 次触达"],
    "/journeys/": ["弃购挽回", "评价邀请"],
}
# Pages one click below a navigation entry that are part of the same job.
BELOW = {"/scoring/": ["/scoring/definitions/"]}


def english_words(text: str) -> list[str]:
    """The words of `text` that are English: none when it has Chinese in it."""
    text = " ".join(text.split())
    if not text or CJK.search(text) or text in DATA:
        return []
    for allowed in sorted(ALLOWED | DATA, key=len, reverse=True):
        text = text.replace(allowed, " ")
    return WORD.findall(text)


def test_english_words_finds_english_and_lets_names_through() -> None:
    assert english_words("Contacts") == ["Contacts"]
    assert english_words("新建旅程") == []
    assert english_words("CSV") == []
    assert english_words("MQL / SQL") == []
    assert english_words("42") == []
    assert english_words("Sign out") == ["Sign", "out"]


@pytest.fixture
def shop(db: Any) -> None:
    """What a shop that runs Growth has: the shipped defaults (transactional tests start from
    empty tables), a cadence and a journey installed, contacts with events and an order."""
    definitions_install_defaults()
    scoring_defaults_ensure()
    rfm_install()
    shipped_cadence_install(key="7-in-7")
    shipped_cadence_install(key="18-in-35")
    shipped_install(key="abandoned_cart")
    shipped_install(key="review_request")
    now = datetime.now(UTC)
    lin = ContactFactory(first_name="Lin", last_name="Wei", email="lin@example.cn")
    ContactFactory(first_name="Mei", last_name="Chen")
    EventFactory(contact=lin, name="Product Viewed", occurred_at=now - timedelta(days=2))
    OrderFactory(
        contact=lin,
        order_number="#1001",
        placed_at=now - timedelta(days=1),
        total=Decimal("1234.5"),
    )


def nav_links(page: Page) -> list[str]:
    hrefs = (
        page.get_by_test_id("nav")
        .locator("a")
        .evaluate_all("links => links.map(a => a.getAttribute('href'))")
    )
    return list(dict.fromkeys(h for h in hrefs if h and h.startswith("/")))


def problems_on(page: Page, url: str) -> list[str]:
    found = []
    lang = page.locator("html").get_attribute("lang")
    if lang != "zh-hans":
        found.append(f"{url}: html lang={lang!r}")
    for element in page.locator(LOOKED_AT).all():
        if not element.is_visible():
            continue
        text = element.inner_text()
        words = english_words(text)
        if words:
            found.append(f"{url}: English {words} in {text!r}")
    body = page.locator("main, .content, body").first.inner_text()
    for pattern in (ISO_DATE, ENGLISH_MONTH):
        for match in pattern.findall(body):
            found.append(f"{url}: a date written the English way: {match!r}")
    # Charts' toolbars (shown on hover) speak plotly's own words: its zh-CN locale is loaded.
    titles = page.locator(".modebar-btn[data-title]").evaluate_all(
        "buttons => buttons.map(b => b.getAttribute('data-title'))"
    )
    found += [f"{url}: chart toolbar in English: {t!r}" for t in titles if english_words(t)]
    for chinese in SHIPPED_ON.get(url, []):
        if chinese not in body:
            found.append(f"{url}: the shipped name {chinese!r} is not shown in Chinese")
    return found


@pytest.mark.parametrize(
    "roles",
    [
        (Role.MARKETER,),
        (Role.REP,),
        (Role.SALES_MANAGER,),
        (Role.MANAGER,),
        (Role.ADMIN,),
    ],
    ids=lambda roles: roles[0].value,
)
def test_every_role_works_in_chinese(
    page: Page, user_with_role: Any, shop: None, roles: tuple[Role, ...]
) -> None:
    user = user_with_role(*roles, language="zh-hans", first_name="Lin", last_name="Wei")
    sign_in(page, user.username, PASSWORD)  # the browser asks for English (en-US)
    expect(page).not_to_have_url(re.compile(r"/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    links = nav_links(page)
    assert len(links) >= 2, links
    links += [below for link in links for below in BELOW.get(link, [])]
    problems: list[str] = []
    dated = 0
    for url in links:
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        page.wait_for_load_state("networkidle")  # panels and boards load with htmx
        problems += problems_on(page, url)
        dated += bool(CHINESE_DATE.search(page.locator("body").inner_text()))
    assert not problems, "\n".join(problems)
    if Role.REP not in roles:  # every other role has a page with dates (contacts, users, …)
        assert dated, f"no date in the Chinese format on any of {links}"


def test_a_chinese_marketer_reads_dates_and_money_in_chinese(
    page: Page, user_with_role: Any, shop: None
) -> None:
    user = user_with_role(Role.MARKETER, language="zh-hans")
    sign_in(page, user.username, PASSWORD)
    page.goto("/contacts/")
    table = page.get_by_test_id("contacts")
    expect(table).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}"))
    table.get_by_role("link", name="Lin Wei").click()
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("US$1,234.50")
    expect(timeline).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}"))
    assert not ISO_DATE.search(timeline.inner_text())
