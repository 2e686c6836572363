"""A customer opens the NPS link from an e-mail, clicks 3 and adds a comment; a sales
manager finds the detractor task in the inbox, opens nothing else, and marks it done."""

from playwright.sync_api import Page, expect

from automations.models import SurveyAnswer, TeamTask
from automations.services.surveys import survey_create, survey_link
from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory

# The engagement pages, whether or not growth/urls.py includes them yet.


def test_customer_answers_3_and_the_sales_manager_completes_the_detractor_task(
    page: Page, user_with_role, live_server
):
    survey = survey_create(
        name="After delivery",
        kind="nps",
        question="How likely are you to recommend Demo Shop to a friend?",
        thank_you="Thank you for your answer!",
    )
    anna = ContactFactory(first_name="Anna", last_name="Berg")
    link = survey_link(survey=survey, contact=anna, key="run-1:nps")
    path = "/" + link.split("/", 3)[3]

    # The customer, not signed in, from the e-mail.
    page.goto(path)
    expect(page.get_by_test_id("question")).to_have_text(
        "How likely are you to recommend Demo Shop to a friend?"
    )
    expect(page.get_by_test_id("scale").get_by_role("link")).to_have_count(11)
    page.get_by_test_id("score-3").click()
    expect(page.get_by_test_id("thank-you")).to_have_text("Thank you for your answer!")
    expect(page.get_by_test_id("your-score")).to_contain_text("3")
    page.get_by_label("Anything you want to tell us?").fill("The parcel came two weeks late.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("comment-saved")).to_be_visible()
    answer = SurveyAnswer.objects.get()
    assert (answer.score, answer.comment) == (3, "The parcel came two weeks late.")

    # The sales manager's inbox.
    manager = user_with_role(Role.SALES_MANAGER)
    sign_in(page, manager.username, PASSWORD)
    page.goto("/inbox/")
    task = page.get_by_test_id("task").filter(has_text="Call this detractor")
    expect(task.get_by_test_id("task-title")).to_contain_text(
        "Call this detractor: Anna Berg gave 3"
    )
    expect(task.get_by_test_id("task-body")).to_contain_text("The parcel came two weeks late.")
    expect(task.get_by_test_id("task-contact")).to_have_attribute("href", f"/contacts/{anna.pk}/")
    expect(page.get_by_test_id("open-count")).to_have_text("1")

    task.get_by_test_id("task-done").click()
    expect(task.get_by_test_id("task-status")).to_have_text("done")
    expect(task.get_by_test_id("task-done-by")).to_contain_text("done by")
    expect(page.get_by_test_id("open-count")).to_have_text("0")
    assert TeamTask.objects.get().done_by == manager

    page.get_by_role("link", name="Open").click()
    expect(page.get_by_test_id("empty")).to_contain_text("Nothing to do")
