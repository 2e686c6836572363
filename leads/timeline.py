"""Kinds other apps add to the contact's timeline. leads never imports them: an app registers
a kind with the query of one contact's rows (read through a (contact, time) index), the
field that dates them and the template that draws one item (it gets `item`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.functional import Promise


@dataclass(frozen=True)
class TimelineSource:
    kind: str
    label: str | Promise  # the filter's name for it
    rows: Callable[[int], QuerySet[Any]]  # a contact's id → its rows
    at_field: str
    template: str


_sources: dict[str, TimelineSource] = {}


def register(source: TimelineSource) -> None:
    _sources[source.kind] = source


def registered() -> list[TimelineSource]:
    return sorted(_sources.values(), key=lambda s: s.kind)
