"""A marketer imports ad spend by clicking: a Google Ads export goes in whole and shows in the
list with its totals; a file with bad rows imports nothing and shows the rows to fix."""

from playwright.sync_api import Page, expect

from analytics.models import AdSpend
from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD

GOOGLE = b"""Campaign report
"January 1, 2024 - January 2, 2024"
Day,Campaign,Currency code,Cost,Clicks,Impr.
2024-01-01,Brand search,USD,"1,234.56","1,020","12,345"
2024-01-02,Shopping,USD,87.10,150,"4,800"
Total: Campaigns,,USD,"1,321.66","1,170","17,145"
"""
BAD = b"""Campaign report
"January 3, 2024 - January 4, 2024"
Day,Campaign,Currency code,Cost,Clicks,Impr.
2024-01-03,Brand search,USD,10.00,1,1
2024-01-04,Brand search,USD,-3.00,1,1
"""


def upload(page: Page, name: str, data: bytes) -> None:
    page.get_by_role("link", name="Upload a file").first.click()
    page.get_by_label("Google Ads export").check()
    page.get_by_label("CSV file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_role("button", name="Upload").click()


def test_marketer_imports_a_google_export_then_sees_the_report_of_a_bad_file(
    page: Page, user_with_role
):
    user = user_with_role(Role.MARKETER)
    sign_in(page, user.username, PASSWORD)

    page.get_by_test_id("nav").get_by_role("link", name="Ad spend").click()
    expect(page.get_by_test_id("empty")).to_contain_text("What each channel and campaign cost")

    upload(page, "google.csv", GOOGLE)
    expect(
        page.get_by_text("google.csv: 2 rows imported. 1 blank or totals rows skipped.")
    ).to_be_visible()
    rows = page.get_by_test_id("spend-rows")
    expect(rows).to_contain_text("Brand search")
    expect(rows).to_contain_text("1,234.56 USD")  # grouped, as every figure
    expect(rows).to_contain_text("google / cpc")
    expect(page.get_by_test_id("total-cost")).to_have_text("1,321.66")
    expect(page.get_by_test_id("total-clicks")).to_have_text("1,170")

    upload(page, "bad.csv", BAD)
    expect(page.get_by_role("heading", name="bad.csv")).to_be_visible()
    expect(page.get_by_test_id("row-report")).to_contain_text("Nothing was imported.")
    report = page.get_by_test_id("import-errors")
    expect(report.locator("tbody tr")).to_have_count(1)
    expect(report).to_contain_text("the cost cannot be negative")
    expect(report.locator("tbody tr").first.locator("td").first).to_have_text("5")
    assert AdSpend.objects.count() == 2  # the good row of the bad file was not imported

    page.get_by_role("link", name="← Ad spend").click()
    expect(page.get_by_test_id("spend-imports")).to_contain_text("not imported: see the row report")
    expect(page.get_by_test_id("spend-rows")).not_to_contain_text("2024-01-03")
