"""Notes people write on a contact."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from leads.models import Contact, Note

NOTE_MAX_LENGTH = 5000


@transaction.atomic
def note_add(*, contact: Contact, author: Any, body: str) -> Note:
    """Add a note. Checked here as well as in the form: other callers (API, imports) come."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write something before adding the note.")})
    if len(body) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {"body": _("A note holds at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH}}
        )
    # A tombstone's notes would never be seen; an erased person must stay erased.
    if contact.merged_into_id or contact.erased_at:
        raise ValidationError(_("Notes cannot be added to a merged or erased contact."))
    note = Note(contact=contact, author=author, body=body)
    note.full_clean()
    note.save()
    return note
