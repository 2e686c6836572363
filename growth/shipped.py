"""Names and descriptions Growth ships, shown in the reader's language.

The rows Growth ships or the demo loads (the MQL and SQL definitions, the score model and its
rules, the six RFM segments, the cadences and journeys and the message templates they send,
…) are stored with their English text, the same on every install: that text is their key.
When a page shows a name or description that is still exactly a shipped text, the reader gets
it in her language (`{{ segment.name|shipped }}`, `shipped_text(name)`); anything a user
wrote, a shipped row renamed included, is data and is shown as it is.

So no model needs a key column or a migration, one team can read the same rows in English and
in Chinese, and a later translation fix reaches every install at once. The apps register
their shipped texts in their AppConfig.ready() (growth imports no app); the texts are marked
for makemessages where they are defined (gettext_noop, or gettext_lazy for those shown
elsewhere too).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext

_registered: list[str | Promise] = []
_english: frozenset[str] | None = None


def register(texts: Iterable[str | Promise]) -> None:
    global _english
    _registered.extend(text for text in texts if text)
    _english = None


def shipped_texts() -> frozenset[str]:
    """Every registered text, in English (the form it is stored in)."""
    global _english
    if _english is None:
        with translation.override("en"):
            _english = frozenset(str(text) for text in _registered)
    return _english


def is_shipped(value: object) -> bool:
    return value is not None and str(value) in shipped_texts()


# A second copy of a shipped object installed beside the first (its name is taken) is
# stored as "<name> (shipped)": still Growth's words, so it is translated too.
SECOND_COPY = " (shipped)"


def second_copy_name(name: str) -> str:
    """The stored name of a shipped object installed while `name` is taken."""
    return f"{name}{SECOND_COPY}"


def shipped_text(value: object) -> str:
    """`value` in the active language when it is a text Growth ships, else as it is."""
    if value is None:
        return ""
    text = str(value)
    if text in shipped_texts():
        return gettext(text)
    base = text.removesuffix(SECOND_COPY)
    if base != text and base in shipped_texts():
        return gettext("%(name)s (shipped)") % {"name": gettext(base)}
    return text
