"""Forms of the journey pages: a new blank journey, a status change, and the shape check of
a graph the builder posts (its meaning is checked by `graph_check`, which names problems per
node; this only keeps out what is not a graph at all, or too big to store)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.models import Journey
from leads.models import Segment

MAX_NODES = 200
MAX_EDGES = 400
MAX_POSITION = 100_000
# RunStep.node and JourneyRun.node hold 40 characters: an id longer than that could be
# published but never run.
NODE_ID = re.compile(r"[A-Za-z0-9_\-]{1,40}")


class JourneyCreateForm(forms.ModelForm):
    """A blank journey: its name, who may enter and how often. The graph is drawn next."""

    class Meta:
        model = Journey
        fields = ["name", "reentry", "reentry_days", "audience", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "reentry_days": gettext_lazy("Only for “once per N days”."),
            "audience": gettext_lazy("Only contacts in this segment enter. Empty: everyone."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        audience = self.fields["audience"]
        assert isinstance(audience, forms.ModelChoiceField)
        audience.queryset = Segment.objects.order_by("name")
        audience.empty_label = _("everyone")
        self.fields["reentry_days"].widget.attrs.update({"min": 1, "max": 3650})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("reentry") == Journey.Reentry.PER_DAYS:
            if not data.get("reentry_days"):
                self.add_error(
                    "reentry_days", _("Say after how many days a contact may enter again.")
                )
        else:
            data["reentry_days"] = None
        return data

    def create(self, *, actor: Any) -> Journey:
        journey: Journey = self.save(commit=False)
        journey.draft = {"nodes": [], "edges": []}
        journey.updated_by = actor
        journey.save()
        return journey


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Journey.Status.ACTIVE, gettext_lazy("resume")),
            (Journey.Status.PAUSED, gettext_lazy("pause")),
            (Journey.Status.ARCHIVED, gettext_lazy("archive")),
        ]
    )


class ShippedForm(forms.Form):
    key = forms.CharField(max_length=40)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise ValidationError(_("%(what)s must be a short text.") % {"what": what})
    return value


def _position(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(max(-MAX_POSITION, min(MAX_POSITION, round(value))))


def draft_clean(raw: Any) -> dict[str, Any]:
    """The graph as the builder posted it, reduced to the keys a graph has: nodes (id, type,
    config, x, y) and edges (from, to, branch). ValidationError when it is not a graph."""
    if not isinstance(raw, dict):
        raise ValidationError(_("The journey's graph must be an object with nodes and edges."))
    nodes, edges = raw.get("nodes", []), raw.get("edges", [])
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise ValidationError(_("Nodes and edges must be lists."))
    if len(nodes) > MAX_NODES:
        raise ValidationError(_("A journey has at most %(n)s steps.") % {"n": MAX_NODES})
    if len(edges) > MAX_EDGES:
        raise ValidationError(_("A journey has at most %(n)s connections.") % {"n": MAX_EDGES})
    clean_nodes = []
    for node in nodes:
        if not isinstance(node, dict):
            raise ValidationError(_("Each step must be an object."))
        node_id = _text(node.get("id"), _("A step's id"))
        if not NODE_ID.fullmatch(node_id):
            raise ValidationError(
                _("“%(id)s” is not a step id: up to 40 letters, digits, _ and -.") % {"id": node_id}
            )
        config = node.get("config")
        config = {} if config is None else config
        if not isinstance(config, dict):
            raise ValidationError(
                _("The settings of step %(id)s must be an object.") % {"id": node_id}
            )
        clean_nodes.append(
            {
                "id": node_id,
                "type": _text(node.get("type"), _("A step's kind")),
                "config": config,
                "x": _position(node.get("x")),
                "y": _position(node.get("y")),
            }
        )
    clean_edges = []
    for edge in edges:
        if not isinstance(edge, dict):
            raise ValidationError(_("Each connection must be an object."))
        clean_edges.append(
            {
                "from": _text(edge.get("from"), _("A connection's start")),
                "to": _text(edge.get("to"), _("A connection's end")),
                "branch": _text(edge.get("branch") or "next", _("A connection's path")),
            }
        )
    return {"nodes": clean_nodes, "edges": clean_edges}
