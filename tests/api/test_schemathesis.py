"""Schemathesis against /api/schema/: every operation, generated input (bounded), no 5xx
and every response as the schema says (status, content type, body)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, note, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cadences.models import Rep
from cadences.services.enrollment import enrollment_start
from growth.api.keys import api_key_create
from growth.roles import Role
from leads.models import Segment, SegmentMembership, StageChange
from leads.services.scoring import scoring_apply
from tests.api.conftest import ALL_WRITE
from tests.api.helpers import delivery_for, manual_journey
from tests.cadences.helpers import mql, published
from tests.leads.factories import ContactFactory, EventFactory

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}


@pytest.fixture
def api_schema(db) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The real WSGI application, called in the test's thread. Django closes the database
    connection when a request ends; the test client keeps it (the test's transaction lives
    on it), and so must we while schemathesis calls the application directly."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def full_key(user_with_role) -> str:  # type: ignore[no-untyped-def]
    admin = user_with_role(Role.ADMIN)
    rep = Rep.objects.create(user=user_with_role(Role.REP))
    for i in range(3):  # a few rows, so some generated ids find an object
        contact = ContactFactory()
        event = EventFactory(contact=contact)
        scoring_apply(contact_ids=[contact.pk], event_ids=[event.pk])
        StageChange.objects.create(contact=contact, to_stage="lead", cause_kind="import")
        journey = manual_journey(f"Journey {i}")
        delivery_for(contact, journey)
        segment = Segment.objects.create(name=f"Segment {i}", kind=Segment.Kind.STATIC)
        SegmentMembership.objects.create(
            segment=segment, contact=contact, entered_at=timezone.now()
        )
        cadence = published(f"Cadence {i}")
        enrollment_start(contact=mql(10 + i), key=f"s{i}", cadence=cadence, rep=rep)
    return api_key_create(
        name="schemathesis", scopes=ALL_WRITE, created_by=admin, rate_limit_per_minute=100_000
    ).plain


def check_operation(operation: Any, mode: GenerationMode, examples: int, key: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Any) -> None:
        note(f"{operation.label} ({mode.value})")
        response = case.call(headers={"Authorization": f"Bearer {key}"})
        case.validate_response(response, checks=CHECKS)

    conforms()


def test_every_operation_keeps_its_schema(api_schema, full_key):  # type: ignore[no-untyped-def]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 38
    for operation in operations:
        for mode, examples in EXAMPLES.items():
            check_operation(operation, mode, examples, full_key)
