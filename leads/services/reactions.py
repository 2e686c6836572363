"""What happens to contacts right after a batch of their data was processed.

Ingest (the inbound batch processor, CSV import, the demo loader) calls `batch_react` with
the contacts and events a batch touched, after the batch committed. Steps register here in
the order they must run (scores before the stage definitions that read them), each
set-based over the given ids. Steps live in leads; other apps react to the domain signals
those steps send (`stage_changed`, …).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)

Step = Callable[..., None]
_steps: list[tuple[int, str, Step]] = []


def after_batch(order: int) -> Callable[[Step], Step]:
    """Register `step(*, contact_ids: list[int], event_ids: list[int])`; lower runs first."""

    def register(step: Step) -> Step:
        name = f"{step.__module__}.{step.__qualname__}"
        if all(existing != name for _, existing, _ in _steps):
            _steps.append((order, name, step))
            _steps.sort(key=lambda entry: (entry[0], entry[1]))
        return step

    return register


def batch_react(*, contact_ids: Iterable[int], event_ids: Iterable[int] = ()) -> None:
    """Run every registered step for these contacts and events, each in its own transaction
    (a step that fails is logged and the next still runs: scores and stages are recomputed
    from the data, so the nightly recompute repairs what a failed step missed)."""
    from django.db import transaction

    contacts = sorted(set(contact_ids))
    events = sorted(set(event_ids))
    if not contacts and not events:
        return
    for _, name, step in list(_steps):
        try:
            with transaction.atomic():
                step(contact_ids=contacts, event_ids=events)
        except Exception:
            logger.exception("after-batch step %s failed for %d contacts", name, len(contacts))
