"""Forms of the segment pages: the segment's own fields, and the rule builder.

The builder is plain form fields named "<path>.<parameter>" ("r.match", "r_0.kind",
"r_1_0.value", event filters "r_0.f1.property"), the same paths the rule validation keys its
errors with. `rules_from_data` turns posted fields back into the rule tree; `builder_op`
adds or removes a condition, a group or an event filter; `builder_nodes` prepares the tree
for the templates with each input's value, choices and error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from leads.models import Consent, LifecycleStage, Segment
from leads.services.scoring_conditions import LIST_OPERATORS, NO_VALUE_OPERATORS
from leads.services.scoring_conditions import OPERATORS as PROPERTY_OPERATORS
from leads.services.segment_rules import (
    BOUGHT_OPERATORS,
    COMPARISONS,
    CONDITION_KINDS,
    CONSENT_STATUSES,
    CONTACT_DATE_FIELDS,
    CONTACT_TEXT_FIELDS,
    DATE_OPERATORS,
    LAST_ORDER_OPERATORS,
    MATCHES,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MEMBER_OPERATORS,
    ORDER_MEASURES,
    ROOT,
    TEXT_OPERATORS,
    child_path,
    is_group,
)

_NODE = re.compile(r"^(r(?:_\d{1,3}){0,4})\.([a-z_]{1,20})$")
_FILTER = re.compile(r"^(r(?:_\d{1,3}){0,4})\.f(\d{1,2})\.(property|operator|value)$")
MULTI = {"segments", "personas"}
MAX_FILTER_ROWS = 10


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional: what the segment is for, e.g. the journey that uses it."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ListUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV of e-mail addresses"),
        help_text=_(
            "One address per row, in a column named “email” or in the first column. "
            "Contacts are found by e-mail; addresses nobody has are listed after the upload."
        ),
    )


# --- From posted fields to the rule tree ---------------------------------------------------------


def rules_from_data(data: Any) -> dict[str, Any]:
    """The rule tree as posted (not validated). Paths sort by position, so the order on
    the page is kept; missing positions are simply skipped."""
    nodes: dict[str, dict[str, Any]] = {}
    filters: dict[str, dict[int, dict[str, str]]] = {}
    for key in data:
        if match := _FILTER.match(key):
            path, index, attr = match.group(1), int(match.group(2)), match.group(3)
            filters.setdefault(path, {}).setdefault(index, {})[attr] = data.get(key, "")
        elif match := _NODE.match(key):
            path, attr = match.groups()
            if attr == "value" and hasattr(data, "getlist") and len(data.getlist(key)) > 1:
                value: Any = data.getlist(key)
            elif attr in MULTI and hasattr(data, "getlist"):
                value = data.getlist(key)
            else:
                value = data.get(key, "")
            nodes.setdefault(path, {})[attr] = value
    for path, rows in filters.items():
        nodes.setdefault(path, {})["filters"] = [
            {
                "property": r.get("property", ""),
                "operator": r.get("operator", ""),
                "value": r.get("value", ""),
            }
            for _i, r in sorted(rows.items())
        ]
    return _build(ROOT, nodes) if ROOT in nodes else {"match": "all", "conditions": []}


def _children(path: str, nodes: dict[str, dict[str, Any]]) -> list[str]:
    prefix = f"{path}_"
    direct = [p for p in nodes if p.startswith(prefix) and "_" not in p[len(prefix) :]]
    return sorted(direct, key=lambda p: int(p[len(prefix) :]))


def _build(path: str, nodes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    attrs = nodes[path]
    if "match" in attrs or path == ROOT:
        return {
            "match": attrs.get("match") or "all",
            "conditions": [_build(child, nodes) for child in _children(path, nodes)],
        }
    condition = {k: v for k, v in attrs.items() if k != "match"}
    if condition.get("kind") == "event":  # rows left empty are no filter
        condition["filters"] = [
            f for f in condition.get("filters", []) if str(f.get("property", "")).strip()
        ]
    return _trim(condition)


def _trim(condition: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters of the condition's kind: a kind changed in the form leaves the
    old kind's inputs behind."""
    kind = CONDITION_KINDS.get(str(condition.get("kind", "")))
    if kind is None:
        return condition
    kept = {"kind": kind.key}
    for name in kind.params:
        if name in condition and condition[name] not in ("", None, []):
            kept[name] = condition[name]
    return kept


# --- Builder operations ----------------------------------------------------------------------------


def new_condition(kind: str = "contact") -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "contact": {"field": "country", "operator": "eq", "value": ""},
        "property": {"key": "", "operator": "eq", "value": ""},
        "stage": {"operator": "in", "value": []},
        "score": {"operator": "gte", "value": ""},
        "consent": {"channel": "email", "status": "granted"},
        "event": {"name": "", "count_operator": "gte", "count": 1, "days": ""},
        "orders": {"measure": "count", "operator": "gte", "value": 1, "days": ""},
        "last_order": {"operator": "within_days", "value": 30},
        "bought": {"operator": "bought", "value": "", "days": ""},
        "member": {"operator": "in", "segments": []},
        "persona": {"operator": "in", "personas": []},
    }
    return {"kind": kind, **defaults.get(kind, {})}


def _node_at(
    tree: dict[str, Any], path: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, int]:
    """(parent group, node, index in the parent) of the node at `path`; Nones when gone."""
    parent: dict[str, Any] | None = None
    node: dict[str, Any] = tree
    index = 0
    for part in path.split("_")[1:]:
        children = node.get("conditions", []) if is_group(node) else []
        index = int(part)
        if index >= len(children):
            return None, None, 0
        parent, node = node, children[index]
    return parent, node, index


def _depth(path: str) -> int:
    return path.count("_") + 1


def _count(tree: dict[str, Any]) -> int:
    return sum(_count(c) if is_group(c) else 1 for c in tree.get("conditions", []))


def builder_op(tree: dict[str, Any], op: str) -> dict[str, Any]:
    """Apply one builder button: "add:<group>", "group:<group>", "remove:<node>",
    "filter:<condition>", "unfilter:<condition>:<row>", "kind:<condition>" (re-render
    after a change of kind or field). Unknown or stale operations change nothing."""
    action, _sep, target = op.partition(":")
    target, _sep, row = target.partition(":")
    parent, node, index = _node_at(tree, target)
    if node is None:
        return tree
    if action == "add" and is_group(node) and _count(tree) < MAX_CONDITIONS:
        node.setdefault("conditions", []).append(new_condition())
    elif (
        action == "group"
        and is_group(node)
        and _depth(target) < MAX_DEPTH
        and _count(tree) < MAX_CONDITIONS
    ):
        other = "any" if node.get("match") == "all" else "all"
        node.setdefault("conditions", []).append({"match": other, "conditions": [new_condition()]})
    elif action == "remove" and parent is not None:
        del parent["conditions"][index]
    elif action == "filter" and node.get("kind") == "event":
        filters = [f for f in node.get("filters", []) if str(f.get("property", "")).strip()]
        if len(filters) < MAX_FILTER_ROWS:
            filters.append({"property": "", "operator": "eq", "value": ""})
        node["filters"] = filters
    elif action == "unfilter" and node.get("kind") == "event" and row.isdigit():
        filters = node.get("filters", [])
        if int(row) < len(filters):
            del filters[int(row)]
    elif action == "kind" and not is_group(node):
        kind = node.get("kind", "contact")
        if set(node) - {"kind"} == set() or kind not in CONDITION_KINDS:
            node.update(new_condition(kind if kind in CONDITION_KINDS else "contact"))
        else:
            fresh = new_condition(kind)
            for name, value in fresh.items():
                node.setdefault(name, value)
            if kind == "contact":
                date_field = node.get("field") in CONTACT_DATE_FIELDS
                valid = DATE_OPERATORS if date_field else dict.fromkeys(TEXT_OPERATORS)
                if node.get("operator") not in valid:
                    node["operator"] = "within_days" if date_field else "eq"
    return tree


# --- For the templates -------------------------------------------------------------------------------


@dataclass
class Input:
    name: str  # the form field name: "<path>.<parameter>"
    label: str
    value: Any
    kind: str = "text"  # text, number, date, select, multi, checkboxes
    choices: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    placeholder: str = ""
    list_id: str = ""  # a datalist of suggestions
    trigger: bool = False  # changing it re-renders the builder (kind, field)
    hint: str = ""

    @property
    def id(self) -> str:
        return "id-" + self.name.replace(".", "-")

    @property
    def values(self) -> list[str]:
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        return [str(self.value)] if self.value not in (None, "") else []


@dataclass
class FilterRow:
    index: int
    inputs: list[Input]


@dataclass
class Node:
    path: str
    label: str  # "1", "2.1"…
    group: bool
    match: Input | None = None
    children: list[Node] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    filters: list[FilterRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the node's own (kind, conditions)
    kind: str = ""
    can_nest: bool = False

    @property
    def depth(self) -> int:
        return self.path.count("_")


def _choices(mapping: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in mapping.items()]


@dataclass(frozen=True)
class BuilderChoices:
    """What the selects offer that comes from the database."""

    lists: list[tuple[str, str]]  # static lists and RFM segments
    personas: list[tuple[str, str]]


def builder_choices(*, exclude: int | None = None) -> BuilderChoices:
    lists: list[tuple[str, str]] = []
    personas: list[tuple[str, str]] = []
    for pk, name, kind in (
        Segment.objects.filter(
            kind__in=[Segment.Kind.STATIC, Segment.Kind.RFM, Segment.Kind.PERSONA]
        )
        .order_by("kind", "name")
        .values_list("pk", "name", "kind")
    ):
        if pk == exclude:
            continue
        (personas if kind == Segment.Kind.PERSONA else lists).append((str(pk), name))
    return BuilderChoices(lists, personas)


def builder_nodes(
    tree: dict[str, Any],
    *,
    errors: dict[str, list[str]] | None = None,
    choices: BuilderChoices,
    for_persona: bool = False,
) -> Node:
    errors = errors or {}
    kinds = [
        (k, str(v.label))
        for k, v in CONDITION_KINDS.items()
        if not for_persona or v.for_personas
        if k != "persona" or choices.personas
    ]
    return _node(tree, ROOT, errors, choices, kinds)


def _node(
    raw: dict[str, Any],
    path: str,
    errors: dict[str, list[str]],
    choices: BuilderChoices,
    kinds: list[tuple[str, str]],
) -> Node:
    label = ".".join(str(int(p) + 1) for p in path.split("_")[1:])
    if is_group(raw) or path == ROOT:
        node = Node(
            path,
            label,
            True,
            match=Input(
                f"{path}.match",
                str(_("Match")),
                raw.get("match", "all"),
                "select",
                [("all", str(_("all of these"))), ("any", str(_("any of these")))],
                errors.get(f"{path}.match", []),
            ),
            errors=errors.get(f"{path}.conditions", []),
            can_nest=_depth(path) < MAX_DEPTH,
        )
        node.children = [
            _node(child, child_path(path, i), errors, choices, kinds)
            for i, child in enumerate(raw.get("conditions", []))
        ]
        return node
    kind = str(raw.get("kind") or "contact")
    node = Node(path, label, False, kind=kind, errors=[])
    node.inputs = [
        Input(
            f"{path}.kind",
            str(_("What")),
            kind,
            "select",
            kinds,
            errors.get(f"{path}.kind", []),
            trigger=True,
        )
    ]
    node.inputs += _inputs(kind, raw, path, errors, choices)
    if kind == "event":
        for index, row in enumerate(raw.get("filters") or []):
            base = f"{path}.f{index}"
            node.filters.append(
                FilterRow(
                    index,
                    [
                        Input(
                            f"{base}.property",
                            str(_("Property")),
                            row.get("property", ""),
                            errors=errors.get(f"{path}.filters.{index}.property", []),
                            placeholder="category",
                            list_id="event-properties",
                        ),
                        Input(
                            f"{base}.operator",
                            str(_("Operator")),
                            row.get("operator", "eq"),
                            "select",
                            _choices(PROPERTY_OPERATORS),
                            errors.get(f"{path}.filters.{index}.operator", []),
                        ),
                        Input(
                            f"{base}.value",
                            str(_("Value")),
                            _listed(row.get("value", "")),
                            errors=errors.get(f"{path}.filters.{index}.value", []),
                        ),
                    ],
                )
            )
    known = {i.name for i in node.inputs} | {f"{path}.kind"}
    for key, messages in errors.items():
        # A parameter without an input of its own (another kind's, or the whole filters).
        if key.startswith(f"{path}.") and key not in known and key.count(".") == 1:
            node.errors += messages
    return node


def _listed(value: Any) -> Any:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value


def _inputs(
    kind: str, raw: dict[str, Any], path: str, errors: dict[str, list[str]], choices: BuilderChoices
) -> list[Input]:
    def make(
        name: str, label: Any, input_kind: str = "text", options: Any = None, **extra: Any
    ) -> Input:
        value = raw.get(name, "")
        if input_kind not in ("multi", "checkboxes"):
            value = _listed(value)
        return Input(
            f"{path}.{name}",
            str(label),
            "" if value is None else value,
            input_kind,
            list(options or []),
            errors.get(f"{path}.{name}", []),
            **extra,
        )

    days_hint = str(_("Empty: ever."))
    if kind == "contact":
        date_field = raw.get("field") in CONTACT_DATE_FIELDS
        fields = _choices(CONTACT_TEXT_FIELDS) + _choices(CONTACT_DATE_FIELDS)
        if date_field:
            operators = _choices(DATE_OPERATORS)
            value_kind = "date" if raw.get("operator") in ("since", "before") else "number"
        else:
            operators = [(o, str(PROPERTY_OPERATORS[o])) for o in TEXT_OPERATORS]
            value_kind = "text"
        inputs = [
            make("field", _("Field"), "select", fields, trigger=True),
            make("operator", _("Operator"), "select", operators, trigger=True),
        ]
        if raw.get("operator") not in NO_VALUE_OPERATORS:
            hint = (
                str(_("Values separated by commas."))
                if raw.get("operator") in LIST_OPERATORS
                else ""
            )
            inputs.append(
                make(
                    "value",
                    _("Days") if value_kind == "number" else _("Value"),
                    value_kind,
                    placeholder="DE" if raw.get("field") == "country" else "",
                    hint=hint,
                )
            )
        return inputs
    if kind == "property":
        inputs = [
            make("key", _("Property"), placeholder="plan", list_id="contact-properties"),
            make("operator", _("Operator"), "select", _choices(PROPERTY_OPERATORS), trigger=True),
        ]
        if raw.get("operator") not in NO_VALUE_OPERATORS:
            inputs.append(make("value", _("Value")))
        return inputs
    if kind == "stage":
        return [
            make("operator", _("Stage"), "select", _choices(MEMBER_OPERATORS)),
            make("value", _("Stages"), "checkboxes", LifecycleStage.choices),
        ]
    if kind == "score":
        return [
            make("operator", _("Score is"), "select", _choices(COMPARISONS)),
            make("value", _("Points"), "number"),
        ]
    if kind == "consent":
        return [
            make("channel", _("Channel"), "select", Consent.Channel.choices),
            make("status", _("Consent"), "select", _choices(CONSENT_STATUSES)),
        ]
    if kind == "event":
        return [
            make("name", _("Event"), placeholder="Product Viewed", list_id="event-names"),
            make("count_operator", _("How often"), "select", _choices(COMPARISONS)),
            make("count", _("Times"), "number"),
            make("days", _("In the last … days"), "number", hint=days_hint),
        ]
    if kind == "orders":
        return [
            make("measure", _("Measure"), "select", _choices(ORDER_MEASURES)),
            make("operator", _("Is"), "select", _choices(COMPARISONS)),
            make("value", _("Value"), "number"),
            make("days", _("In the last … days"), "number", hint=days_hint),
        ]
    if kind == "last_order":
        inputs = [
            make(
                "operator", _("Last order"), "select", _choices(LAST_ORDER_OPERATORS), trigger=True
            )
        ]
        if raw.get("operator") in ("within_days", "older_than_days"):
            inputs.append(make("value", _("Days"), "number"))
        return inputs
    if kind == "bought":
        return [
            make("operator", _("Bought"), "select", _choices(BOUGHT_OPERATORS)),
            make("value", _("SKU or product name"), hint=str(_("Several: separate with commas."))),
            make("days", _("In the last … days"), "number", hint=days_hint),
        ]
    if kind == "member":
        return [
            make("operator", _("Membership"), "select", _choices(MEMBER_OPERATORS)),
            make("segments", _("Lists"), "multi", choices.lists),
        ]
    if kind == "persona":
        return [
            make("operator", _("Persona"), "select", _choices(MEMBER_OPERATORS)),
            make("personas", _("Personas"), "multi", choices.personas),
        ]
    return []


__all__ = [
    "MATCHES",
    "ListUploadForm",
    "SegmentForm",
    "builder_nodes",
    "builder_op",
    "rules_from_data",
]
