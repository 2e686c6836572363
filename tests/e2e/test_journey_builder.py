"""A marketer builds an abandoned-checkout journey on the canvas: drags a trigger, a wait and
an SMS from the palette, connects them with the mouse, sees the SMS step marked while it has
no template and clean once one is chosen, adds a goal with the keyboard alone, saves and
publishes. The journey is active with version 1; a contact's "Checkout Started" event starts
a run, and the results page counts it at its step."""

import re

from playwright.sync_api import Page, expect

from automations.journeys.engine import journeys_on_events, runs_dispatch, triggers_forget
from automations.models import Journey, JourneyRun
from automations.services.templates import template_create
from growth.roles import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.leads.factories import ContactFactory, EventFactory

# The journey pages, also before they are part of the project's URLs.


def drag_from_palette(page: Page, kind: str, x: int, y: int) -> None:
    page.get_by_test_id(f"palette-{kind}").drag_to(
        page.get_by_test_id("canvas"), target_position={"x": x, "y": y}
    )
    expect(page.locator(f".drawflow-node.kind-{kind}")).to_have_count(1)


def centre(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def connect(page: Page, source: str, target: str) -> None:
    """Drawflow follows real mouse events: press on the output, move, release on the input."""
    start = centre(page, f".drawflow-node.kind-{source} .output_1")
    end = centre(page, f".drawflow-node.kind-{target} .input_1")
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def test_marketer_builds_and_publishes_a_journey_that_a_contact_then_enters(
    page: Page, user_with_role
):
    marketer = user_with_role(Role.MARKETER)
    template_create(
        actor=None,
        name="Cart SMS",
        channel="sms",
        purpose="marketing",
        default_locale="en",
        parts={"text": "Your cart is waiting. Reply STOP to opt out."},
    )

    sign_in(page, marketer.username, PASSWORD)
    page.get_by_test_id("nav").get_by_role("link", name="Journeys").click()
    expect(page.get_by_test_id("empty")).to_contain_text(
        "Start from a shipped journey or a blank canvas"
    )
    form = page.get_by_test_id("new-journey")
    form.get_by_label("Name").fill("Checkout rescue")
    form.get_by_label("Contacts may enter").select_option("per_days")
    form.get_by_label("Days between entries").fill("7")
    form.get_by_role("button", name="Create and open the builder").click()
    expect(page.get_by_role("heading", name="Checkout rescue")).to_be_visible()

    problems = page.get_by_test_id("problems")
    publish = page.get_by_test_id("publish")
    panel = page.get_by_test_id("panel")
    expect(problems).to_contain_text("exactly one trigger")
    expect(publish).to_be_disabled()

    # --- Three steps dragged from the palette, set up in the side panel -----------------------
    drag_from_palette(page, "trigger", 140, 60)
    expect(panel.get_by_label("Starts when the contact")).to_have_value("event")
    panel.get_by_label("Event name").fill("Checkout Started")

    drag_from_palette(page, "wait", 140, 220)
    panel.get_by_label("Days").fill("0")
    panel.get_by_label("Hours").fill("1")

    drag_from_palette(page, "send_sms", 140, 380)
    sms = page.locator(".drawflow-node.kind-send_sms")
    expect(sms).to_contain_text("no template chosen")

    # --- Connected with the mouse: output to input --------------------------------------------
    connect(page, "trigger", "wait")
    connect(page, "wait", "send_sms")
    expect(page.locator(".drawflow .connection")).to_have_count(2)

    # The SMS step has no template: marked on the canvas and listed, publishing refused.
    expect(problems.get_by_test_id("problem")).to_have_count(1)  # once the check has answered
    expect(problems.locator('[data-testid="problem"][data-node="n3"]')).to_contain_text("template")
    expect(sms).to_have_class(re.compile(r"\bhas-problem\b"))
    expect(sms.get_by_test_id("node-problem")).to_be_visible()
    expect(publish).to_be_disabled()

    # The step is reached from the plain list beside the canvas, too.
    page.get_by_test_id("steps").get_by_role("button", name=re.compile("Send an SMS")).click()
    expect(page.locator("#journey-panel-title")).to_be_focused()
    panel.get_by_label("Message template").select_option(label="Cart SMS")
    expect(problems).to_contain_text("No problems: ready to publish.")
    expect(sms).not_to_have_class(re.compile(r"\bhas-problem\b"))
    expect(sms).to_contain_text("Cart SMS")
    expect(publish).to_be_enabled()

    # --- A goal added with the keyboard alone ---------------------------------------------------
    page.get_by_test_id("palette-goal").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#journey-panel-title")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("Order Completed")
    page.keyboard.press("Escape")  # back to the step on the canvas
    goal = page.locator(".drawflow-node.kind-goal")
    expect(goal).to_be_focused()
    before = goal.bounding_box()
    page.keyboard.press("Shift+ArrowRight")  # arrow keys move the focused step
    expect(goal).to_contain_text("Order Completed")
    after = goal.bounding_box()
    assert before and after and after["x"] > before["x"]
    expect(problems).to_contain_text("No problems: ready to publish.")

    # --- Save, then publish --------------------------------------------------------------------
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-state")).to_have_text("Saved.")
    journey = Journey.objects.get(name="Checkout rescue")
    assert journey.version == 2
    assert {n["id"]: n["type"] for n in journey.draft["nodes"]} == {
        "n1": "trigger",
        "n2": "wait",
        "n3": "send_sms",
        "n4": "goal",
    }
    assert sorted((e["from"], e["to"], e["branch"]) for e in journey.draft["edges"]) == [
        ("n1", "n2", "next"),
        ("n2", "n3", "next"),
    ]
    assert all(isinstance(n["x"], int) and isinstance(n["y"], int) for n in journey.draft["nodes"])
    wait = next(n for n in journey.draft["nodes"] if n["id"] == "n2")
    assert wait["config"] == {"days": 0, "hours": 1, "minutes": 0}

    publish.click()
    expect(page.get_by_test_id("journey-status")).to_have_text("active")
    expect(page.get_by_test_id("live-version")).to_have_text("version 1")
    expect(page.get_by_test_id("save-state")).to_have_text("Published as version 1.")
    expect(page.get_by_test_id("pause")).to_be_visible()

    page.get_by_role("link", name="← Journeys").click()
    row = page.locator('[data-journey="Checkout rescue"]')
    expect(row.get_by_test_id("status")).to_have_text("active")
    expect(row.get_by_test_id("live-version")).to_have_text("version 1")
    expect(row.get_by_test_id("runs")).to_have_text("0 / 0")

    # --- A contact starts checkout: the journey takes it, the results page counts it ----------
    contact = ContactFactory(first_name="Anna", phone="+4915112345678")
    event = EventFactory(contact=contact, name="Checkout Started")
    triggers_forget()
    journeys_on_events(event_ids=[event.pk])
    runs_dispatch()  # the dispatcher moves the run into its hour of waiting
    run = JourneyRun.objects.get(journey=journey)
    assert (run.status, run.node, run.version.number) == ("waiting", "n3", 1)

    page.reload()
    expect(row.get_by_test_id("runs")).to_have_text("1 / 1")
    row.get_by_role("link", name="Results").click()
    expect(page.get_by_test_id("started")).to_have_text("1")
    expect(page.get_by_test_id("converted")).to_have_text("0")
    trigger_row = page.locator('[data-testid="node-row"][data-node="n1"]')
    expect(trigger_row.get_by_test_id("entered")).to_have_text("1")
    expect(trigger_row.get_by_test_id("passed")).to_have_text("1")
    wait_row = page.locator('[data-testid="node-row"][data-node="n2"]')
    expect(wait_row.get_by_test_id("entered")).to_have_text("1")
    expect(wait_row.get_by_test_id("waiting")).to_have_text("1")
    # The same counts as badges on the read-only canvas.
    wait_node = page.locator('.drawflow-node[data-node="n2"]')
    expect(wait_node.locator('[data-count="waiting"]')).to_have_text("1 waiting now")
    expect(page.locator('.drawflow-node[data-node="n1"] [data-count="entered"]')).to_have_text(
        "1 entered"
    )
    expect(page.locator(".drawflow .connection")).to_have_count(2)
