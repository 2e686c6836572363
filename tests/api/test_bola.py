"""Object-level authorisation: every endpoint, every role, an own and a foreign object.

The rep's own contact is on a cadence enrollment assigned to it; the foreign one is another
rep's. Roles that see contacts see both; a rep sees only its own (a foreign one is a 404,
and lists leave it out); writes need "Export and erase contact data" (admins).

Segments, deliveries and journeys are not split by queue: an endpoint's `readers` reach
every object (own and foreign alike) and every other role is refused (403); each side has
its own segment, message and journey (tests.api.helpers.with_automation).

Lifecycle and enrollments follow the queue rule; writes that are not the admins' name their
`writers` (moving a stage: whoever moves stages in the web UI, a rep on its own leads only).
Cadences, the scoring definitions and the KPIs have `readers`; each side has its own cadence
and enrollment (tests.api.helpers.queue_for)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from automations.models import JourneyRun
from cadences.models import Enrollment
from cadences.services.enrollment import enrollment_pause
from growth.api.keys import api_key_create
from growth.roles import Role
from leads.models import Contact, ScoreModel, StageChange
from tests.api.conftest import bearer
from tests.api.helpers import Queue, queue_for, with_automation

pytestmark = pytest.mark.django_db

SEE_ALL = {Role.MARKETER, Role.SALES_MANAGER, Role.MANAGER, Role.ADMIN}
WRITERS = {Role.ADMIN}
ROLES = [Role.MARKETER, Role.REP, Role.SALES_MANAGER, Role.MANAGER, Role.ADMIN]
JOURNEY_BUILDERS = frozenset({Role.MARKETER})  # "Build trigger journeys" / "Edit templates"
STAGE_MOVERS = frozenset({Role.MARKETER, Role.REP, Role.SALES_MANAGER})  # scoring or queue
SCORERS = frozenset({Role.MARKETER, Role.SALES_MANAGER})  # "Edit scoring rules …"
CADENCE_READERS = frozenset(SEE_ALL)  # cadence pages, team board or contacts
CADENCE_DESIGNERS = frozenset({Role.SALES_MANAGER})  # "Design cadences and assign reps"
DASHBOARD_READERS = frozenset({Role.MARKETER, Role.SALES_MANAGER, Role.MANAGER})


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable[[Queue, str], str]  # (queue, "own" | "foreign") → URL
    body: Callable[[Queue, str], Any] | None = None
    writes: bool = False
    lists: str = ""  # a list: the attribute of Queue its rows are
    row: str = "id"  # the field of a list's row that holds that object's id
    nested: bool = False  # a list under the side's object: it holds the side's row only
    by_contact: bool = False  # a list with a `contact` filter
    readers: frozenset[Role] | None = None  # all of them see everything; None: the queue rule
    writers: frozenset[Role] | None = None  # who may write; None: WRITERS (or the readers)
    created: bool = False  # success is 201
    scope: str = ""  # the key's scope; "": the URL's resource (/api/v1/<resource>/…)
    before: Callable[[Queue, str], Any] | None = None  # prepares the side's object first

    def call(self, client: Any, queue: Queue, side: str, **headers: Any) -> Any:
        url = self.url(queue, side)
        if self.method == "get":
            return client.get(url, **headers)
        body = json.dumps(self.body(queue, side)) if self.body else ""
        return getattr(client, self.method)(url, body, content_type="application/json", **headers)


def _obj(attr: str) -> Callable[[Queue, str], Any]:
    return lambda q, side: getattr(q, side if attr == "contact" else f"{side}_{attr}")


def _detail(prefix: str, attr: str, suffix: str = "") -> Callable[[Queue, str], str]:
    return lambda q, side: f"/api/v1/{prefix}/{_obj(attr)(q, side).pk}/{suffix}"


def _primary_model(q: Queue, side: str) -> str:
    model = ScoreModel.objects.get(is_primary=True)
    return f"/api/v1/contacts/{getattr(q, side).pk}/scores/{model.pk}/"


def _paused(q: Queue, side: str) -> None:
    enrollment_pause(enrollment=getattr(q, f"{side}_enrollment"))


ENDPOINTS = [
    Endpoint("contacts list", "get", lambda q, s: "/api/v1/contacts/", lists="contact"),
    Endpoint("contact get", "get", _detail("contacts", "contact")),
    Endpoint("events list", "get", lambda q, s: "/api/v1/events/", lists="event", by_contact=True),
    Endpoint("event get", "get", _detail("events", "event")),
    Endpoint("orders list", "get", lambda q, s: "/api/v1/orders/", lists="order", by_contact=True),
    Endpoint("order get", "get", _detail("orders", "order")),
    Endpoint(
        "contact update",
        "patch",
        _detail("contacts", "contact"),
        body=lambda q, s: {"company": "ACME"},
        writes=True,
    ),
    Endpoint(
        "contact create",
        "post",
        lambda q, s: "/api/v1/contacts/",
        body=lambda q, s: {"email": f"new-{s}@example.com"},
        writes=True,
        created=True,
    ),
    Endpoint(
        "contact merge",
        "post",
        lambda q, s: "/api/v1/contacts/merge/",
        body=lambda q, s: {
            "survivor": getattr(q, s).pk,
            "merged": (q.foreign if s == "own" else q.own).pk,
            "reason": "test",
        },
        writes=True,
    ),
    Endpoint("contact export", "post", _detail("contacts", "contact", "export/"), writes=True),
    Endpoint(
        "contact erase",
        "post",
        _detail("contacts", "contact", "erase/"),
        body=lambda q, s: {"confirm": "ERASE"},
        writes=True,
    ),
    Endpoint(
        "segments list",
        "get",
        lambda q, s: "/api/v1/segments/",
        lists="segment",
        readers=frozenset(SEE_ALL),
    ),
    Endpoint("segment get", "get", _detail("segments", "segment"), readers=frozenset(SEE_ALL)),
    Endpoint(
        "segment members",
        "get",
        _detail("segments", "segment", "members/"),
        lists="contact",
        row="contact",
        nested=True,
        readers=frozenset(SEE_ALL),
    ),
    Endpoint(
        "deliveries list",
        "get",
        lambda q, s: "/api/v1/deliveries/",
        lists="delivery",
        by_contact=True,
        readers=JOURNEY_BUILDERS,
    ),
    Endpoint("delivery get", "get", _detail("deliveries", "delivery"), readers=JOURNEY_BUILDERS),
    Endpoint(
        "journeys list",
        "get",
        lambda q, s: "/api/v1/journeys/",
        lists="journey",
        readers=JOURNEY_BUILDERS,
    ),
    Endpoint("journey get", "get", _detail("journeys", "journey"), readers=JOURNEY_BUILDERS),
    Endpoint(
        "journey runs",
        "get",
        _detail("journeys", "journey", "runs/"),
        lists="contact",
        row="contact",
        nested=True,
        readers=JOURNEY_BUILDERS,
    ),
    Endpoint(
        "journey enroll",
        "post",
        _detail("journeys", "journey", "enroll/"),
        # The other side's contact: not in this journey yet, so it enters (201).
        body=lambda q, s: {"contact": (q.foreign if s == "own" else q.own).pk},
        writes=True,
        created=True,
        readers=JOURNEY_BUILDERS,
    ),
    # Lifecycle and scores: the queue rule.
    Endpoint(
        "lifecycle get", "get", _detail("contacts", "contact", "lifecycle/"), scope="lifecycle"
    ),
    Endpoint(
        "stage history",
        "get",
        _detail("contacts", "contact", "lifecycle/changes/"),
        scope="lifecycle",
    ),
    Endpoint(
        "stage move",
        "post",
        _detail("contacts", "contact", "lifecycle/move/"),
        body=lambda q, s: {"to_stage": "sql", "reason": "asked for a quote"},
        writes=True,
        created=True,
        writers=STAGE_MOVERS,
        scope="lifecycle",
    ),
    Endpoint("scores get", "get", _detail("contacts", "contact", "scores/"), scope="lifecycle"),
    Endpoint("score explanation", "get", _primary_model, scope="lifecycle"),
    Endpoint(
        "qualification definitions",
        "get",
        lambda q, s: "/api/v1/lifecycle/definitions/",
        readers=SCORERS,
    ),
    Endpoint(
        "score models", "get", lambda q, s: "/api/v1/lifecycle/score-models/", readers=SCORERS
    ),
    # Cadences: everyone who sees the team or the contacts; enrolling is the designers'.
    Endpoint(
        "cadences list",
        "get",
        lambda q, s: "/api/v1/cadences/",
        lists="cadence",
        readers=CADENCE_READERS,
    ),
    Endpoint("cadence get", "get", _detail("cadences", "cadence"), readers=CADENCE_READERS),
    Endpoint(
        "cadence enroll",
        "post",
        _detail("cadences", "cadence", "enroll/"),
        body=lambda q, s: {"contact": q.free.pk},
        writes=True,
        created=True,
        readers=CADENCE_READERS,
        writers=CADENCE_DESIGNERS,
    ),
    # Enrollments: the queue rule (a rep's own); pausing, resuming, stopping the designers'.
    Endpoint(
        "enrollments list",
        "get",
        lambda q, s: "/api/v1/enrollments/",
        lists="enrollment",
        by_contact=True,
        scope="cadences",
    ),
    Endpoint("enrollment get", "get", _detail("enrollments", "enrollment"), scope="cadences"),
    Endpoint(
        "enrollment pause",
        "post",
        _detail("enrollments", "enrollment", "pause/"),
        writes=True,
        writers=CADENCE_DESIGNERS,
        scope="cadences",
    ),
    Endpoint(
        "enrollment resume",
        "post",
        _detail("enrollments", "enrollment", "resume/"),
        writes=True,
        writers=CADENCE_DESIGNERS,
        scope="cadences",
        before=_paused,
    ),
    Endpoint(
        "enrollment stop",
        "post",
        _detail("enrollments", "enrollment", "stop/"),
        body=lambda q, s: {"note": "test"},
        writes=True,
        writers=CADENCE_DESIGNERS,
        scope="cadences",
    ),
    # KPIs: the dashboards' readers; no object of anyone's.
    Endpoint("kpis", "get", lambda q, s: "/api/v1/kpis/", readers=DASHBOARD_READERS),
]


def expected(endpoint: Endpoint, role: Role | None, side: str) -> int:
    """The status for a person with `role`, or for an API key with the scope (role None)."""
    ok = 201 if endpoint.created else 200
    if role is None:
        return ok  # a key reaches every object its scope names
    if endpoint.readers is not None:
        allowed = endpoint.readers
        if endpoint.writes and endpoint.writers is not None:
            allowed = endpoint.writers
        return ok if role in allowed else 403
    if endpoint.writes and role not in (endpoint.writers or WRITERS):
        return 403
    if endpoint.lists or role in SEE_ALL or side == "own":
        return ok
    return 404


@pytest.fixture
def world(user_with_role):  # type: ignore[no-untyped-def]
    def make(role: Role) -> tuple[Any, Queue]:
        user = user_with_role(role)
        other_rep = user_with_role(Role.REP)
        return user, queue_for(user, other_rep)

    return make


def prepared(endpoint: Endpoint, queue: Queue) -> Queue:
    return with_automation(queue) if endpoint.readers is not None else queue


def sees_all(endpoint: Endpoint, role: Role) -> bool:
    return role in (SEE_ALL if endpoint.readers is None else endpoint.readers)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("role", ROLES, ids=str)
@pytest.mark.parametrize("side", ["own", "foreign"])
def test_every_endpoint_every_role_own_and_foreign(client, world, endpoint, role, side):
    user, queue = world(role)
    queue = prepared(endpoint, queue)
    client.force_login(user)
    runs_before = JourneyRun.objects.count()
    stages_before = StageChange.objects.count()
    if endpoint.before is not None:
        endpoint.before(queue, side)
    enrollments_before = list(Enrollment.objects.order_by("pk").values_list("pk", "status"))
    response = endpoint.call(client, queue, side)
    assert response.status_code == expected(endpoint, role, side), response.content
    if response.status_code in (403, 404):
        assert set(response.json()) == {"error"}  # the error body, never the object
    if endpoint.lists and response.status_code == 200:
        rows = {row[endpoint.row] for row in response.json()["results"]}
        own, foreign = _obj(endpoint.lists)(queue, "own"), _obj(endpoint.lists)(queue, "foreign")
        if endpoint.nested:  # the side's segment or journey: its own contact only
            assert rows == {_obj(endpoint.lists)(queue, side).pk}
        else:
            assert own.pk in rows
            assert (foreign.pk in rows) == sees_all(endpoint, role)
        # Filtering by the foreign contact does not reach it either.
        if endpoint.by_contact:
            filtered = client.get(endpoint.url(queue, side), {"contact": queue.foreign.pk})
            assert bool(filtered.json()["results"]) == sees_all(endpoint, role)
    if endpoint.writes and response.status_code == 403:
        own = Contact.objects.get(pk=queue.own.pk)
        assert own.company != "ACME" and own.erased_at is None and own.merged_into_id is None
        assert JourneyRun.objects.count() == runs_before
    if endpoint.writes and response.status_code in (403, 404):
        assert StageChange.objects.count() == stages_before
        assert list(Enrollment.objects.order_by("pk").values_list("pk", "status")) == (
            enrollments_before
        )
    if endpoint.writes and response.status_code in (200, 201) and endpoint.scope == "cadences":
        assert response.json()["id"] == _obj("enrollment")(queue, side).pk


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_keys_reach_what_their_scopes_name(client, world, endpoint):
    admin, queue = world(Role.ADMIN)
    queue = prepared(endpoint, queue)
    scope = endpoint.scope or endpoint.url(queue, "own").split("/")[3]  # /api/v1/<resource>/…
    level = "write" if endpoint.writes else "read"
    right = api_key_create(name="r", scopes={scope: level}, created_by=admin).plain
    other = "events" if scope != "events" else "orders"
    wrong = api_key_create(name="w", scopes={other: "write"}, created_by=admin).plain
    if endpoint.before is not None:
        endpoint.before(queue, "foreign")
    refused = endpoint.call(client, queue, "foreign", headers=bearer(wrong))
    assert refused.status_code == 403
    assert f"{scope}:{level}" in refused.json()["error"]["message"]
    allowed = endpoint.call(client, queue, "foreign", headers=bearer(right))
    assert allowed.status_code == expected(endpoint, None, "foreign"), allowed.content


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_ad_spend_is_the_marketers(client_as, role):
    response = client_as(role).get("/api/v1/ad-spend/")
    assert response.status_code == (200 if role == Role.MARKETER else 403)
