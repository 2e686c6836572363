"""The demo's journeys: the shipped ones installed and published, so the live demo traffic
(`demo_trickle`) starts runs and fills the outbox under Marketing → Deliveries."""

from __future__ import annotations

from collections.abc import Callable

from automations.journeys.engine import journey_problems, journey_publish
from automations.journeys.shipped import SHIPPED, shipped_install


def demo_journeys_load(advance: Callable[[int], None] = lambda n: None) -> int:
    """Install every shipped journey and publish those not published yet. Idempotent."""
    published = 0
    for spec in SHIPPED:
        journey = shipped_install(key=spec.key)
        if journey.live_id is None and not journey_problems(journey):
            journey_publish(journey=journey, version=journey.version, actor=None)
            published += 1
        advance(1)
    return published


def register_demo_step() -> None:
    from growth.demo import Step, register_step

    register_step(Step("journeys", demo_journeys_load, total=len(SHIPPED)))
