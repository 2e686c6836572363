"""No broken object-level authorisation on the web pages.

Every URL pattern that takes an object (enumerated from the URL resolver, so a new page is
covered or this test fails) is in MATRIX: which capabilities open it, and, for the few
objects that belong to someone (inbox tasks, a rep's leads: every page of a contact), the
owner rule. Each role is
tried on a real object: a role that may not open the page gets 403/404 (405 for the wrong
method) and never a byte of the object; a role that may gets the page. Owned objects are
tried own and foreign. The public pages (machine endpoints, signed links) are listed in
PUBLIC with why, and tried with a forged token. /api/ is covered by tests/api.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from growth.roles import ROLE_CAPABILITIES, Capability, Role
from tests.factories import UserFactory
from tests.leads.factories import ContactFactory

pytestmark = pytest.mark.django_db

C = Capability
SECRET = "Zebedee"  # in every object's name: a denied answer must never contain it


def any_of(*caps: Capability) -> Callable[[frozenset[Capability]], bool]:
    return lambda has: any(c in has for c in caps)


def all_of(*caps: Capability) -> Callable[[frozenset[Capability]], bool]:
    return lambda has: all(c in has for c in caps)


def signed_in(has: frozenset[Capability]) -> bool:
    return True


@dataclass(frozen=True)
class Page:
    objects: dict[str, str]  # URL kwarg → object kind (World.make) or a literal value
    opens: Callable[[frozenset[Capability]], bool]
    # Objects that belong to someone: tried own and foreign, with this POST body.
    owned_by: str = ""  # "inbox" (the task's assignee) or "rep" (the rep's enrolled contacts)
    post: dict[str, str] = field(default_factory=dict)
    read: bool = False  # an owned page that is read (GET → 200), not an action (POST → 302)
    # What a role that may open the page gets on GET (405: the page only takes POST).
    allowed: tuple[int, ...] = (200, 302, 405)


CONTACT = {"pk": "contact"}
# A contact's pages: whoever sees the contact list opens any contact's, a rep (no list, only
# the queue) its own leads' and gets a 404 for anyone else's.
READERS = any_of(C.VIEW_CONTACTS, C.WORK_QUEUE)


def contact_page() -> Page:
    return Page(CONTACT, READERS, owned_by="rep", read=True)


MATRIX: dict[str, Page] = {
    # growth
    "user_edit": Page({"pk": "user"}, any_of(C.MANAGE_USERS)),
    # The new key is shown once, to the session that made it: any other session gets 404.
    "api_key_created": Page({"pk": "api_key"}, any_of(C.MANAGE_SOURCES), allowed=(404,)),
    "api_key_revoke": Page({"pk": "api_key"}, any_of(C.MANAGE_SOURCES)),
    # leads: contacts
    "contact_detail": contact_page(),
    "contact_note_add": Page(CONTACT, READERS, owned_by="rep", post={"body": "Called back"}),
    "contact_merge": Page(CONTACT, any_of(C.MANAGE_DATA)),
    "contact_merge_run": Page(CONTACT, any_of(C.MANAGE_DATA)),
    "contact_export_json": Page(CONTACT, any_of(C.MANAGE_DATA)),
    "contact_erase": Page(CONTACT, any_of(C.MANAGE_DATA)),
    "contact_score_panel": contact_page(),
    # Whoever works leads rates them: a rep its own.
    "contact_rate": Page(
        CONTACT, any_of(C.WORK_QUEUE), owned_by="rep", post={"verdict": "good", "note": "fine"}
    ),
    "contact_segments": contact_page(),
    "contact_segments_change": Page(CONTACT, any_of(C.MANAGE_SEGMENTS)),
    "contact_segment_explain": Page(
        {"pk": "contact", "segment_pk": "segment"}, any_of(C.MANAGE_SEGMENTS)
    ),
    "contact_messaging_panel": contact_page(),
    "contact_sales_panel": contact_page(),
    "contact_enroll": Page(CONTACT, any_of(C.MANAGE_CADENCES)),
    # A rep (no contact list) moves the stage only of its own leads, from the queue.
    "contact_stage_move": Page(
        CONTACT,
        any_of(C.MANAGE_SCORING, C.WORK_QUEUE),
        owned_by="rep",
        post={"to_stage": "sql", "reason": "asked for a quote"},
    ),
    "contact_purchase_intent": Page(
        CONTACT, any_of(C.MANAGE_SCORING, C.WORK_QUEUE), owned_by="rep", post={"note": "20"}
    ),
    # leads: settings and data
    "source_detail": Page({"pk": "source"}, any_of(C.MANAGE_SOURCES)),
    "source_rotate": Page({"pk": "source"}, any_of(C.MANAGE_SOURCES)),
    "inbound_detail": Page({"pk": "inbound"}, any_of(C.MANAGE_SOURCES)),
    "inbound_retry": Page({"pk": "inbound"}, any_of(C.MANAGE_SOURCES)),
    "import_detail": Page({"pk": "import"}, any_of(C.MANAGE_SEGMENTS, C.MANAGE_DATA)),
    "import_errors_csv": Page({"pk": "import"}, any_of(C.MANAGE_SEGMENTS, C.MANAGE_DATA)),
    # leads: scoring, lifecycle, quality, segments
    "qualification_definition": Page({"pk": "definition"}, any_of(C.MANAGE_SCORING)),
    "qualification_definition_preview": Page({"pk": "definition"}, any_of(C.MANAGE_SCORING)),
    "scoring_rule_detail": Page({"pk": "rule"}, any_of(C.MANAGE_SCORING)),
    "scoring_rule_edit": Page({"pk": "rule"}, any_of(C.MANAGE_SCORING)),
    "scoring_rule_preview_edit": Page({"pk": "rule"}, any_of(C.MANAGE_SCORING)),
    "scoring_rule_delete": Page({"pk": "rule"}, any_of(C.MANAGE_SCORING)),
    "scoring_model_edit": Page({"pk": "score_model"}, any_of(C.MANAGE_SCORING)),
    "scoring_recompute_status": Page({"pk": "recompute"}, any_of(C.MANAGE_SCORING)),
    "lead_quality_accept": Page({"pk": "rule"}, any_of(C.MANAGE_SCORING)),
    "segment_detail": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    "segment_edit": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    "segment_status": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    "segment_export": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    "segment_delete": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    "segment_list_upload": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    "segment_list_add": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    "segment_list_remove": Page({"pk": "segment"}, any_of(C.MANAGE_SEGMENTS)),
    # automations
    "journey_builder": Page({"pk": "journey"}, any_of(C.MANAGE_JOURNEYS)),
    "journey_draft": Page({"pk": "journey"}, any_of(C.MANAGE_JOURNEYS)),
    "journey_check": Page({"pk": "journey"}, any_of(C.MANAGE_JOURNEYS)),
    "journey_publish": Page({"pk": "journey"}, any_of(C.MANAGE_JOURNEYS)),
    "journey_status": Page({"pk": "journey"}, any_of(C.MANAGE_JOURNEYS)),
    "journey_results": Page({"pk": "journey"}, any_of(C.MANAGE_JOURNEYS)),
    "journey_dry_run": Page({"pk": "journey"}, any_of(C.MANAGE_JOURNEYS)),
    "template_edit": Page({"pk": "template"}, any_of(C.MANAGE_TEMPLATES)),
    "template_preview": Page({"pk": "template"}, any_of(C.MANAGE_TEMPLATES)),
    "template_test_send": Page({"pk": "template"}, any_of(C.MANAGE_TEMPLATES)),
    "suppression_remove": Page(
        {"pk": "suppression"}, any_of(C.MANAGE_TEMPLATES, C.MANAGE_JOURNEYS)
    ),
    "delivery_detail": Page({"pk": "delivery"}, any_of(C.MANAGE_TEMPLATES, C.MANAGE_JOURNEYS)),
    "delivery_html": Page({"pk": "delivery"}, any_of(C.MANAGE_TEMPLATES, C.MANAGE_JOURNEYS)),
    "delivery_cancel": Page({"pk": "delivery"}, any_of(C.MANAGE_TEMPLATES, C.MANAGE_JOURNEYS)),
    "delivery_resend": Page({"pk": "delivery"}, any_of(C.MANAGE_TEMPLATES, C.MANAGE_JOURNEYS)),
    "webhook_detail": Page({"pk": "webhook"}, any_of(C.MANAGE_SOURCES)),
    "webhook_edit": Page({"pk": "webhook"}, any_of(C.MANAGE_SOURCES)),
    "webhook_rotate": Page({"pk": "webhook"}, any_of(C.MANAGE_SOURCES)),
    "webhook_test": Page({"pk": "webhook"}, any_of(C.MANAGE_SOURCES)),
    "webhook_delete": Page({"pk": "webhook"}, any_of(C.MANAGE_SOURCES)),
    "webhook_redeliver": Page(
        {"pk": "webhook", "delivery_pk": "webhook_delivery"}, any_of(C.MANAGE_SOURCES)
    ),
    # Everyone has an inbox; a task is its assignee's (or its role's), nobody else's.
    "inbox_task_done": Page({"pk": "task"}, signed_in, owned_by="inbox"),
    "survey_results": Page({"pk": "survey"}, any_of(C.MANAGE_JOURNEYS)),
    "survey_edit": Page({"pk": "survey"}, any_of(C.MANAGE_JOURNEYS)),
    "discount_campaign": Page({"pk": "campaign"}, any_of(C.MANAGE_JOURNEYS)),
    "discount_campaign_upload": Page({"pk": "campaign"}, any_of(C.MANAGE_JOURNEYS)),
    # cadences
    "cadence_rep_edit": Page({"pk": "rep"}, any_of(C.MANAGE_CADENCES)),
    "cadence_team_edit": Page({"pk": "team"}, any_of(C.MANAGE_CADENCES)),
    "cadence_detail": Page({"pk": "cadence"}, any_of(C.MANAGE_CADENCES)),
    "cadence_edit": Page({"pk": "cadence"}, any_of(C.MANAGE_CADENCES)),
    "cadence_publish": Page({"pk": "cadence"}, any_of(C.MANAGE_CADENCES)),
    "cadence_status": Page({"pk": "cadence"}, any_of(C.MANAGE_CADENCES)),
    "cadence_enroll": Page({"pk": "cadence"}, any_of(C.MANAGE_CADENCES)),
    "cadence_enroll_segment": Page({"pk": "cadence"}, any_of(C.MANAGE_CADENCES)),
    "cadence_enrollment_action": Page(
        {"pk": "cadence", "enrollment": "enrollment"}, any_of(C.MANAGE_CADENCES)
    ),
    "team_export": Page({"table": "=reps"}, any_of(C.VIEW_TEAM)),
    # analytics
    "dashboards_export": Page({"figure": "=revenue"}, any_of(C.VIEW_DASHBOARDS)),
    "ad_spend_import": Page({"pk": "spend_import"}, any_of(C.MANAGE_AD_SPEND)),
    "ad_spend_other_cost_delete": Page({"pk": "other_cost"}, any_of(C.MANAGE_AD_SPEND)),
    "currency_rate_delete": Page({"currency": "rate"}, any_of(C.MANAGE_AD_SPEND)),
}

# No session: each is authenticated by what its URL or request carries. Tried with a forged one.
PUBLIC: dict[str, tuple[dict[str, str], str]] = {
    "ingest": ({"kind": "track"}, "tracking API: the source's write key"),
    "webhook_shopify": ({"slug": "shop"}, "shop webhook: HMAC of the body"),
    "webhook_woocommerce": ({"slug": "shop"}, "shop webhook: HMAC of the body"),
    "demo_product": ({"product_id": "1"}, "the demo storefront (off unless DEMO_SHOP)"),
    "preferences": ({"token": "forged"}, "subscription centre: a signed token"),
    "unsubscribe_one_click": ({"token": "forged"}, "RFC 8058 one-click: a signed token"),
    "survey_answer": ({"token": "forged"}, "survey answer: a signed token"),
    "survey_answer_score": ({"token": "forged", "score": "9"}, "survey answer: a signed token"),
}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and p.pattern.converters:
            yield prefix + str(p.pattern), p.name or ""


def object_patterns() -> dict[str, str]:
    """name → route of every pattern taking an argument, but the API's and Django admin's."""
    return {
        name: route
        for route, name in _walk(get_resolver().url_patterns)
        if not route.startswith(("api/", "django-admin/"))
    }


def test_every_page_that_takes_an_object_is_in_the_matrix() -> None:
    found = object_patterns()
    missing = sorted(set(found) - set(MATRIX) - set(PUBLIC))
    assert not missing, f"add these pages to MATRIX (who may open them) or PUBLIC: {missing}"
    stale = sorted((set(MATRIX) | set(PUBLIC)) - set(found))
    assert not stale, f"no longer in the URLconf: {stale}"


# --- The objects --------------------------------------------------------------------------


class World:
    """Objects made on first use; each carries SECRET in what a page would show of it."""

    def __init__(self) -> None:
        self.made: dict[str, Any] = {}

    def get(self, kind: str) -> Any:
        if kind not in self.made:
            self.made[kind] = getattr(self, f"_{kind}")()
        return self.made[kind]

    def kwargs(self, objects: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, kind in objects.items():
            if kind.startswith("="):
                out[name] = kind[1:]
            else:
                obj = self.get(kind)
                out[name] = obj if isinstance(obj, str) else obj.pk
        return out

    def _contact(self) -> Any:
        return ContactFactory(
            first_name=SECRET, last_name="Foreign", email="zebedee@example.com",
            lifecycle_stage="mql",
        )  # fmt: skip

    def _user(self) -> Any:
        return UserFactory(username="zebedee", first_name=SECRET)

    def _api_key(self) -> Any:
        from growth.models import ApiKey

        return ApiKey.objects.create(name=SECRET, prefix="grw_zebedee", secret_hash="0" * 64)

    def _webhook(self) -> Any:
        from automations.models.webhooks import WebhookSubscription

        return WebhookSubscription.objects.create(
            name=SECRET, url="https://zebedee.example/hook", event_types=["contact.merged"],
            secret="zebedee-secret",
        )  # fmt: skip

    def _webhook_delivery(self) -> Any:
        from automations.models.webhooks import WebhookDelivery

        return WebhookDelivery.objects.create(
            subscription=self.get("webhook"), event_type="contact.merged", event_id="e-1",
            payload={"name": SECRET},
        )  # fmt: skip

    def _source(self) -> Any:
        from leads.models import Source

        return Source.objects.create(name=f"{SECRET} shop", slug="zebedee", kind="shopify")

    def _inbound(self) -> Any:
        from leads.models import InboundDelivery

        return InboundDelivery.objects.create(
            source=self.get("source"), topic="orders/create", delivery_id="d-1",
            body=f'{{"customer": "{SECRET}"}}'.encode(),
        )  # fmt: skip

    def _import(self) -> Any:
        from leads.models import ContactImport

        return ContactImport.objects.create(
            file=f"email,first_name\nz@example.com,{SECRET}\n".encode(), filename=f"{SECRET}.csv"
        )

    def _definition(self) -> Any:
        from leads.models import QualificationDefinition

        found = QualificationDefinition.objects.filter(kind="mql").first()
        return found or QualificationDefinition.objects.create(kind="mql", name=SECRET)

    def _score_model(self) -> Any:
        from leads.models import ScoreModel

        return ScoreModel.objects.first() or ScoreModel.objects.create(name=SECRET)

    def _rule(self) -> Any:
        from leads.models import ScoringRule

        return ScoringRule.objects.create(
            model=self.get("score_model"), name=SECRET, kind="fit", points=5
        )

    def _recompute(self) -> Any:
        from leads.models import ScoreRecompute

        return ScoreRecompute.objects.create(kind="manual")

    def _segment(self) -> Any:
        from leads.models import Segment

        return Segment.objects.create(name=f"{SECRET} list", kind=Segment.Kind.STATIC)

    def _journey(self) -> Any:
        from automations.models import Journey

        return Journey.objects.create(name=f"{SECRET} journey")

    def _template(self) -> Any:
        from automations.services.templates import template_create

        return template_create(
            actor=None, name=f"{SECRET} mail", channel="email", purpose="transactional",
            default_locale="en", parts={"subject": SECRET, "html": f"<p>{SECRET}</p>", "text": ""},
        )  # fmt: skip

    def _suppression(self) -> Any:
        from automations.models import Suppression

        return Suppression.objects.create(
            channel="email", address="zebedee@example.com", reason="manual"
        )

    def _delivery(self) -> Any:
        from automations.models import Delivery

        now = timezone.now()
        return Delivery.objects.create(
            key="zebedee", channel="email", purpose="transactional", scheduled_for=now,
            due_at=now, contact=self.get("contact"), to_address="zebedee@example.com",
            subject=SECRET,
        )  # fmt: skip

    def _task(self) -> Any:
        from automations.models import TeamTask

        return TeamTask.objects.create(
            key="zebedee", title=f"Call {SECRET}", assignee=self.get("user")
        )

    def _survey(self) -> Any:
        from automations.models import Survey

        return Survey.objects.create(name=SECRET, question=f"{SECRET}?", thank_you="Thanks")

    def _campaign(self) -> Any:
        from automations.models import DiscountCampaign

        return DiscountCampaign.objects.create(name=SECRET, value="10%")

    def _team(self) -> Any:
        from cadences.models import Team

        return Team.objects.create(name=f"{SECRET} team")

    def _rep(self) -> Any:
        from cadences.models import Rep

        return Rep.objects.create(user=self.get("user"), team=self.get("team"))

    def _cadence(self) -> Any:
        from tests.cadences.helpers import published

        return published(name=f"{SECRET} cadence")

    def _enrollment(self) -> Any:
        from cadences.services.enrollment import enrollment_start

        return enrollment_start(
            contact=self.get("contact"), key="zebedee", cadence=self.get("cadence"),
            rep=self.get("rep"),
        )  # fmt: skip

    def _spend_import(self) -> Any:
        from analytics.models import SpendImport

        return SpendImport.objects.create(layout="generic", file=b"", filename=f"{SECRET}.csv")

    def _other_cost(self) -> Any:
        from analytics.models import OtherCost

        today = date.today()
        return OtherCost.objects.create(
            kind="agency", starts_on=today - timedelta(days=30), ends_on=today, currency="USD",
            amount=Decimal("100"), description=SECRET,
        )  # fmt: skip

    def _rate(self) -> str:
        from growth.models import CurrencyRate

        CurrencyRate.objects.create(currency="EUR", rate_to_base=Decimal("1.1"))
        return "EUR"


@pytest.fixture
def clients(user_with_role) -> dict[Role, tuple[Any, Client]]:  # type: ignore[no-untyped-def]
    out = {}
    for role in Role:
        user = user_with_role(role)
        client = Client()
        client.force_login(user)
        out[role] = (user, client)
    return out


def _denied(response: Any) -> bool:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert SECRET.encode() not in body, f"{response.status_code} answer shows the object"
    return response.status_code in (403, 404, 405)


# --- The matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_opens_only_what_its_role_allows(name: str, clients) -> None:  # type: ignore[no-untyped-def]
    page, world = MATRIX[name], World()
    for role, (user, client) in clients.items():
        has = ROLE_CAPABILITIES[role]
        if page.owned_by:
            _owned(name, page, world, role, user, client)
            continue
        url = reverse(name, kwargs=world.kwargs(page.objects))
        if page.opens(has):
            response = client.get(url)
            assert response.status_code in page.allowed, (role, url, response.status_code)
        else:
            get, post = client.get(url), client.post(url, {})
            assert _denied(get) and _denied(post), (role, url, get.status_code, post.status_code)
            assert 405 not in (get.status_code, post.status_code) or {
                get.status_code,
                post.status_code,
            } & {403, 404}, (role, url)


def _footprint(contact: Any) -> tuple[int, ...]:
    """What an action on a contact leaves behind: stage changes, notes, quality verdicts."""
    from leads.models import LeadRating, Note, StageChange

    return tuple(m.objects.filter(contact=contact).count() for m in (StageChange, Note, LeadRating))


def _owned(name: str, page: Page, world: World, role: Role, user: Any, client: Client) -> None:
    """Own object → done (200 read, 302 acted); another's → 404, nothing changed; no right at
    all → 403."""
    has = ROLE_CAPABILITIES[role]
    if page.owned_by == "inbox":
        from automations.models import TeamTask

        own = TeamTask.objects.create(key=f"own-{role}", title="Own task", assignee=user)
        foreign = world.get("task")
        url = lambda task: reverse(name, kwargs={"pk": task.pk})  # noqa: E731
        assert client.post(url(own)).status_code == 302, role
        assert _denied(client.post(url(foreign))), role
        foreign.refresh_from_db()
        assert foreign.status == TeamTask.Status.OPEN
        return
    # "rep": a rep's own leads are the contacts of its enrollments.
    from cadences.models import Rep
    from cadences.services.enrollment import enrollment_start

    own = ContactFactory(lifecycle_stage="mql")
    rep = Rep.objects.get_or_create(user=user)[0]
    enrollment_start(contact=own, key=f"own-{role}", cadence=world.get("cadence"), rep=rep)
    world.get("enrollment")  # the foreign contact is another rep's lead
    foreign = world.get("contact")
    before = _footprint(foreign)
    ask = client.get if page.read else partial(client.post, data=page.post)
    own_answer = ask(reverse(name, kwargs={"pk": own.pk}))
    foreign_answer = ask(reverse(name, kwargs={"pk": foreign.pk}))
    done = 200 if page.read else 302
    if not page.opens(has):
        assert own_answer.status_code == foreign_answer.status_code == 403, role
    elif C.VIEW_CONTACTS in has:  # sees every contact: may act on any
        assert own_answer.status_code == foreign_answer.status_code == done, role
        return
    else:
        assert own_answer.status_code == done, (role, own_answer.status_code)
        assert foreign_answer.status_code == 404, (role, foreign_answer.status_code)
        if page.read:  # nor by the other method
            assert client.post(reverse(name, kwargs={"pk": foreign.pk})).status_code == 404
    assert _denied(foreign_answer)
    assert _footprint(foreign) == before


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_pages_refuse_a_forged_token(name: str, client) -> None:  # type: ignore[no-untyped-def]
    kwargs, _why = PUBLIC[name]
    url = reverse(name, kwargs=kwargs)
    for response in (client.get(url), client.post(url, {}, content_type="application/json")):
        assert 400 <= response.status_code < 500, (url, response.status_code)


# --- Queue items are posted by id: a rep's own only -------------------------------------------


def test_a_rep_cannot_skip_or_record_on_another_reps_queue_item(client, user_with_role) -> None:  # type: ignore[no-untyped-def]
    from cadences.models import Rep, Skip, Touch
    from cadences.services.enrollment import enrollment_start
    from tests.cadences.helpers import published

    me, other = user_with_role(Role.REP), user_with_role(Role.REP)
    theirs = enrollment_start(
        contact=ContactFactory(first_name=SECRET), key="theirs", cadence=published(),
        rep=Rep.objects.create(user=other),
    )  # fmt: skip
    client.force_login(me)
    skip = client.post(
        "/queue/skip", {"enrollment": theirs.pk, "reason": "not mine"}, HTTP_HX_REQUEST="true"
    )
    touch = client.post(
        "/queue/touch",
        {"enrollment": theirs.pk, "key": "k" * 10, "disposition": "connected"},
        HTTP_HX_REQUEST="true",
    )
    assert skip.status_code == touch.status_code == 400
    assert SECRET.encode() not in skip.content + touch.content
    assert not Skip.objects.exists() and not Touch.objects.exists()


def test_a_rep_cannot_record_on_a_pool_lead_another_rep_is_working(client, user_with_role) -> None:  # type: ignore[no-untyped-def]
    from cadences.models import Rep, Touch
    from cadences.services.enrollment import enrollment_start
    from tests.cadences.helpers import published

    me, other = user_with_role(Role.REP), user_with_role(Role.REP)
    pool = enrollment_start(
        contact=ContactFactory(first_name=SECRET), key="pool", cadence=published(), assign=False
    )
    assert pool is not None and pool.rep_id is None
    pool.leased_to = Rep.objects.create(user=other)
    pool.lease_until = timezone.now() + timedelta(minutes=5)
    pool.save(update_fields=["leased_to", "lease_until"])
    client.force_login(me)
    touch = client.post(
        "/queue/touch",
        {"enrollment": pool.pk, "key": "k" * 10, "disposition": "connected"},
        HTTP_HX_REQUEST="true",
    )
    assert touch.status_code == 400 and "another rep" in touch.content.decode()
    assert SECRET.encode() not in touch.content
    assert not Touch.objects.exists()
