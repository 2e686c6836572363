"""Panels other apps add to the contact page. leads never imports them: an app registers
the name of a URL that takes the contact's id and answers an HTML fragment, and the page
loads each one after it has shown (htmx), so a slow panel never holds the page up."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Panel:
    url_name: str
    loading: str | Promise  # shown until the panel has loaded
    order: int = 100


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.url_name] = panel


def registered() -> list[Panel]:
    return sorted(_panels.values(), key=lambda p: (p.order, p.url_name))
