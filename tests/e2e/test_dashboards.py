"""A manager reads the dashboard: a chart is drawn (under the strict CSP: the page fixture
fails on any console error), the period and a channel filter change the numbers, a table view
opens, and the body refreshes itself. A marketer switches the attribution model; a sales
manager reads speed to lead and goes on to the team board."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import Page, expect

from analytics.demo import demo_analytics_load
from analytics.models import ClvFit, CustomerPrediction
from analytics.services.clv import predictions_roll_up
from analytics.services.rollups import rollups_refresh
from growth.roles import Role
from leads.demo.loader import demo_shop_load
from leads.models import Segment, SegmentMembership
from tests.analytics.test_dashboard_pages import build_shop
from tests.analytics.test_selectors_engagement import enroll, journey, message, run
from tests.cadences.helpers import published
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import OrderFactory

SHOTS = "/tmp"


def test_manager_reads_the_dashboard_and_filters_it(page: Page, user_with_role):
    manager = user_with_role(Role.MANAGER)
    shop = build_shop()  # March 2026; the default period (the last 30 days) has nothing
    ClvFit.objects.create(fitted_at=timezone.now(), customers=2, repeat_buyers=1, predicted=2)
    for contact, alive in ((shop["ann"], 0.9), (shop["bob"], 0.4)):
        CustomerPrediction.objects.create(
            contact=contact, p_alive=alive, expected_orders=1, predicted_clv=Decimal("50.00")
        )
    predictions_roll_up()  # as the fit does after storing its predictions
    sign_in(page, manager.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Dashboards").click()
    expect(page.get_by_role("heading", name="Dashboards: Manager")).to_be_visible()
    expect(page.get_by_test_id("empty-dashboard")).to_be_visible()
    expect(page.get_by_test_id("value-net_revenue")).to_have_text("0.00")

    page.get_by_label("From:", exact=True).fill("2026-03-01")
    page.get_by_label("To:", exact=True).fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"from=2026-03-01"))
    expect(page.get_by_test_id("value-net_revenue")).to_have_text("185.00")
    expect(page.get_by_test_id("value-cac")).to_have_text("25.00")
    expect(page.get_by_test_id("value-roas")).to_have_text("\u00d73.10")
    revenue = page.get_by_test_id("plot-revenue")
    expect(revenue.locator(".main-svg").first).to_be_visible()
    expect(page.locator(".chart.js-plotly-plot")).not_to_have_count(0)
    expect(page.get_by_test_id("plot-shop-funnel").locator(".main-svg").first).to_be_visible()
    expect(page.get_by_test_id("plot-cohort-retention").locator(".main-svg").first).to_be_visible()
    expect(page.get_by_test_id("empty-rfm-grid")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/dashboard-manager.png", full_page=True)

    # The table view: the same numbers as the chart.
    table = page.get_by_test_id("table-revenue")
    expect(table.locator("table")).not_to_be_visible()
    table.locator("summary").click()
    expect(table.locator("tfoot")).to_contain_text("185.00")

    # The body refreshes itself (htmx, every 30 s): new numbers, an opened table stays open.
    OrderFactory(
        contact=shop["ann"], placed_at=datetime(2026, 3, 15, tzinfo=UTC), total=15, status="paid"
    )
    rollups_refresh()
    page.evaluate(
        "htmx.ajax('GET', location.pathname + location.search, {target: '#dashboard', swap: 'innerHTML'})"
    )
    expect(page.get_by_test_id("value-net_revenue")).to_have_text("200.00")
    expect(page.get_by_test_id("table-revenue").locator("table")).to_be_visible()
    expect(page.get_by_test_id("table-revenue").locator("tfoot")).to_contain_text("200.00")
    expect(revenue.locator(".main-svg").first).to_be_visible()
    expect(page.locator("h1")).to_have_count(1)

    page.get_by_label("Channel:", exact=True).fill("google / cpc")
    page.get_by_label("Compare with the previous period").check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"channel=google"))
    expect(page.get_by_test_id("value-net_revenue")).to_have_text("170.00")
    expect(page.get_by_test_id("value-orders")).to_have_text("3")
    expect(page.get_by_test_id("compare-orders")).to_contain_text("previous period 0")
    expect(page.get_by_label("Period:")).to_have_value("custom")

    # What is behind a card: the orders, with the same filters.
    page.get_by_test_id("drill-orders").click()
    expect(page.get_by_test_id("total-orders")).to_have_text("3")
    expect(page.get_by_test_id("orders").locator("tbody tr")).to_have_count(3)
    page.get_by_test_id("orders").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/contacts/\d+/"))

    # Short periods have history enough for a forecast; the CLV fit draws its chart.
    page.goto("/dashboards/?from=2026-03-08&to=2026-03-10")
    for key in ("forecast", "p-alive"):
        expect(page.get_by_test_id(f"plot-{key}").locator(".main-svg").first).to_be_visible()


def test_marketer_switches_the_attribution_model(page: Page, user_with_role):
    marketer = user_with_role(Role.MARKETER)
    shop = build_shop()
    welcome = journey("Welcome")
    run(
        welcome,
        shop["ann"],
        datetime(2026, 3, 5, tzinfo=UTC),
        "converted",
        datetime(2026, 3, 11, tzinfo=UTC),
    )
    sent = datetime(2026, 3, 5, 12, tzinfo=UTC)
    message(
        shop["ann"], sent, "clicked", journey=welcome, delivered=True, opened=True, clicked=True
    )
    message(shop["bob"], sent, "sent", channel="sms")
    vip = Segment.objects.create(name="VIP", member_count=1)
    SegmentMembership.objects.create(segment=vip, contact=shop["ann"], entered_at=sent)
    sign_in(page, marketer.username, PASSWORD)
    page.goto("/dashboards/marketing/?from=2026-03-01&to=2026-03-31")
    expect(page.get_by_role("heading", name="Dashboards: Marketing")).to_be_visible()
    expect(page.get_by_test_id("value-roas")).to_have_text("\u00d73.10")
    comparison = page.get_by_test_id("plot-attribution-models")
    expect(comparison.locator(".main-svg").first).to_be_visible()
    expect(comparison.locator(".bars")).to_have_count(5)  # one bar trace per model
    for key in ("campaigns", "journeys", "messages", "traffic", "top-products", "segment-growth"):
        expect(page.get_by_test_id(f"plot-{key}").locator(".main-svg").first).to_be_visible()

    page.get_by_label("Attribution model:").select_option(label="last touch")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"model=last"))
    expect(page.get_by_test_id("value-roas")).to_have_text("\u00d72.00")
    expect(page.get_by_test_id("value-attributed_revenue")).to_have_text("100.00")
    campaigns = page.get_by_test_id("table-campaigns")
    campaigns.locator("summary").click()
    expect(campaigns.locator("tbody")).to_contain_text("facebook / paid-social")
    page.screenshot(path=f"{SHOTS}/dashboard-marketing.png", full_page=True)


def test_sales_manager_reads_speed_to_lead(page: Page, user_with_role):
    manager = user_with_role(Role.SALES_MANAGER)
    fast = published("Fast")
    qualified = datetime(2026, 3, 10, 9, tzinfo=UTC)
    for minutes in (3, 12, None):
        enroll(
            fast,
            qualified,
            qualified_at=qualified,
            first_touch_at=qualified + timedelta(minutes=minutes) if minutes else None,
            sla_due_at=qualified + timedelta(minutes=30),
        )
    sign_in(page, manager.username, PASSWORD)
    page.goto("/dashboards/")
    page.get_by_test_id("dashboard-tabs").get_by_role("link", name="Sales").click()
    expect(page.get_by_role("heading", name="Dashboards: Sales")).to_be_visible()
    page.get_by_label("From:", exact=True).fill("2026-03-01")
    page.get_by_label("To:", exact=True).fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("value-qualified")).to_have_text("3")
    expect(page.get_by_test_id("value-sla_rate")).to_have_text("66.7\u00a0%")
    speed = page.get_by_test_id("plot-speed-to-lead")
    expect(speed.locator(".main-svg").first).to_be_visible()
    expect(page.get_by_test_id("plot-cadences").locator(".main-svg").first).to_be_visible()
    page.screenshot(path=f"{SHOTS}/dashboard-sales.png", full_page=True)
    page.get_by_test_id("team-link").click()
    expect(page.get_by_role("heading", name="Team board")).to_be_visible()


def test_the_demo_shop_draws_every_chart(page: Page, user_with_role):
    """The demo shop (orders, visits, spend, costs, targets, a CLV fit): on each dashboard
    every chart that has a figure is drawn, under the CSP, with no console error."""
    demo_shop_load(contacts=150, days=60, seed=3, now=timezone.now() - timedelta(minutes=5))
    demo_analytics_load()
    manager = user_with_role(Role.MANAGER, Role.MARKETER, Role.SALES_MANAGER)
    sign_in(page, manager.username, PASSWORD)
    for path, name, least in (
        ("/dashboards/", "manager", 6),  # no CLV fit, too short for a forecast, RFM: maybe
        ("/dashboards/marketing/", "marketing", 4),
        ("/dashboards/sales/", "sales", 0),  # the demo shop enrolls no one in a cadence
    ):
        page.goto(path)
        expect(page.get_by_test_id("refreshed")).to_be_visible()
        figures = page.locator(".chart[data-figure]")
        expect(page.locator(".chart.js-plotly-plot")).to_have_count(figures.count())
        page.screenshot(path=f"{SHOTS}/dashboard-demo-{name}.png", full_page=True)
        empty = page.locator(".dash-chart .empty-state").evaluate_all(
            "nodes => nodes.map(n => n.closest('section').id)"
        )
        assert figures.count() >= least, (name, figures.count(), empty)


def test_a_chinese_manager_gets_the_charts_toolbar_in_chinese(page: Page, user_with_role):
    """plotly writes its own words (the toolbar's tooltips): a Chinese page loads plotly's
    zh-CN locale and draws with it; an English page keeps plotly's English."""
    build_shop()
    march = "/dashboards/?from=2026-03-01&to=2026-03-31"
    for language, expected in (("zh-hans", "下载图表为PNG格式"), ("en", "Download plot as a PNG")):
        user = user_with_role(Role.MANAGER, language=language)
        page.context.clear_cookies()
        sign_in(page, user.username, PASSWORD)
        page.goto(march)
        revenue = page.get_by_test_id("plot-revenue")
        expect(revenue.locator(".main-svg").first).to_be_visible()
        titles = revenue.locator(".modebar-btn[data-title]").evaluate_all(
            "buttons => buttons.map(b => b.getAttribute('data-title'))"
        )
        assert expected in titles, (language, titles)
