"""The steps of published cadence versions, read once per process.

A version never changes once published (an edit publishes the next one), so its steps can
be kept: the queue's card and every step advance (a disposition, an automatic step) read
them without a query. Only the steps' own fields are kept, never a related object: a
template is editable and is read fresh where it is needed (`Step.template_id`)."""

from __future__ import annotations

from threading import Lock

from cadences.models import Step

MAX_VERSIONS = 1_000  # far more than are live at once; past it the cache starts over

_steps: dict[int, dict[int, Step]] = {}
_lock = Lock()


def version_step(version_id: int, position: int) -> Step | None:
    """Step `position` of the version, or None: the version has no such step (its end).
    The Step is shared between requests: read it, never change it or load relations on it."""
    steps = _steps.get(version_id)
    if steps is None:
        steps = {step.position: step for step in Step.objects.filter(version_id=version_id)}
        with _lock:
            if len(_steps) >= MAX_VERSIONS:
                _steps.clear()
            _steps[version_id] = steps
    return steps.get(position)
