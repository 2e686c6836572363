"""Optimistic locking of things people edit in forms (rules, templates, journeys, policy)."""

from __future__ import annotations

from typing import Any


class EditConflict(Exception):
    """Someone else saved the object since the form was opened; `current` is their version,
    for the page to show next to what this user typed."""

    def __init__(self, current: Any) -> None:
        super().__init__("edit conflict")
        self.current = current
