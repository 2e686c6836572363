"""Conditions of scoring rules: validation, SQL compilation and a Python reference.

A condition is {"property": …, "operator": …, "value": …}. For behaviour rules the property
is a dotted path into the event's properties ("url", "context.page.path"); for fit rules it
is a contact field ("country", "email_domain", …) or a path under "properties." into the
contact's properties.

One meaning, two implementations: the SQL scores millions of rows; `condition_matches` is
the same semantics in Python, and tests check the two agree on generated data.

- A property is *missing* when the path does not resolve, the value is JSON null, or (for
  contact fields) the field is empty.
- eq / neq / in / not_in compare text case-insensitively; a JSON number equals a numeric
  value numerically ("12" = 12.0) and never equals a non-numeric value. neq and not_in hold
  for a missing property.
- contains: substring of a string (case-insensitive), or an element of a list of strings.
- gt / gte / lt / lte: numeric, for JSON numbers and strings that are plain decimals
  ("19.99"); anything else does not match.
- exists / not_exists: present and not an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

OPERATORS: dict[str, Any] = {
    "eq": gettext_lazy("is"),
    "neq": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "gt": gettext_lazy("is greater than"),
    "gte": gettext_lazy("is at least"),
    "lt": gettext_lazy("is less than"),
    "lte": gettext_lazy("is at most"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "exists": gettext_lazy("is set"),
    "not_exists": gettext_lazy("is not set"),
}
NUMERIC_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
LIST_OPERATORS = {"in", "not_in"}
NO_VALUE_OPERATORS = {"exists", "not_exists"}

# Contact fields a fit rule can test, and the SQL text each one is (NULL when empty).
CONTACT_FIELDS: dict[str, str] = {
    "country": "c.country",
    "company": "c.company",
    "email": "c.email",
    "email_domain": "split_part(lower(c.email), '@', 2)",
    "first_name": "c.first_name",
    "last_name": "c.last_name",
    "phone": "c.phone",
    "locale": "c.locale",
    "time_zone": "c.time_zone",
    "source_channel": "c.source_channel",
}
CONTACT_PROPERTIES_PREFIX = "properties."

MAX_CONDITIONS = 10
MAX_LIST_VALUES = 200
MAX_VALUE_LENGTH = 200
MAX_PATH_DEPTH = 5
_SEGMENT = re.compile(r"(?!-?\d+$)[A-Za-z0-9_$\-]{1,64}")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# The same pattern in PostgreSQL's syntax: strings that are plain decimals compare as numbers.
_DECIMAL_SQL = r"'^-?[0-9]+(\.[0-9]+)?$'"


# --- Validation ----------------------------------------------------------------------------


def _is_decimal(text: str) -> bool:
    return bool(_DECIMAL.fullmatch(text)) and len(text) <= 40


def _path(text: str, *, field: str) -> list[str]:
    segments = text.split(".")
    if len(segments) > MAX_PATH_DEPTH or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise ValidationError(
            {
                field: _(
                    "“%(path)s” is not a property name: use letters, digits, _ $ - and dots "
                    "between levels (at most %(depth)s levels, none of them a plain number)."
                )
                % {"path": text, "depth": MAX_PATH_DEPTH}
            }
        )
    return segments


def condition_clean(raw: Any, *, kind: str) -> dict[str, Any]:
    """One condition, normalised; ValidationError keyed by the field that is wrong
    ("property", "operator" or "value")."""
    if not isinstance(raw, dict):
        raise ValidationError(
            {"property": _("A condition needs a property, an operator and a value.")}
        )
    unknown = set(raw) - {"property", "operator", "value"}
    if unknown:
        raise ValidationError(
            {"property": _("Unknown keys in a condition: %(keys)s.") % {"keys": sorted(unknown)}}
        )
    prop = raw.get("property")
    if not isinstance(prop, str) or not prop.strip():
        raise ValidationError({"property": _("Name the property this condition tests.")})
    prop = prop.strip()
    if kind == "fit":
        if prop.startswith(CONTACT_PROPERTIES_PREFIX):
            _path(prop[len(CONTACT_PROPERTIES_PREFIX) :], field="property")
        elif prop not in CONTACT_FIELDS:
            raise ValidationError(
                {
                    "property": _(
                        "“%(prop)s” is not a contact field. Use one of %(fields)s, or "
                        "properties.<name> for a contact property."
                    )
                    % {"prop": prop, "fields": ", ".join(CONTACT_FIELDS)}
                }
            )
    else:
        _path(prop, field="property")

    operator = raw.get("operator")
    if operator not in OPERATORS:
        raise ValidationError(
            {
                "operator": _("“%(op)s” is not an operator; use one of %(ops)s.")
                % {"op": operator, "ops": ", ".join(OPERATORS)}
            }
        )
    value = raw.get("value")
    cleaned: dict[str, Any] = {"property": prop, "operator": operator}
    if operator in NO_VALUE_OPERATORS:
        cleaned["value"] = None
    elif operator in LIST_OPERATORS:
        items = value if isinstance(value, list) else str(value or "").split(",")
        items = [str(item).strip() for item in items if str(item).strip()]
        if not items:
            raise ValidationError({"value": _("List at least one value, separated by commas.")})
        if len(items) > MAX_LIST_VALUES:
            raise ValidationError(
                {"value": _("At most %(n)s values in one list.") % {"n": MAX_LIST_VALUES}}
            )
        if any(len(item) > MAX_VALUE_LENGTH for item in items):
            raise ValidationError(
                {"value": _("Each value is at most %(n)s characters.") % {"n": MAX_VALUE_LENGTH}}
            )
        cleaned["value"] = items
    else:
        if isinstance(value, bool) or value is None or isinstance(value, list | dict):
            raise ValidationError({"value": _("Enter the value to compare with.")})
        text = str(value).strip()
        if not text:
            raise ValidationError({"value": _("Enter the value to compare with.")})
        if len(text) > MAX_VALUE_LENGTH:
            raise ValidationError(
                {"value": _("At most %(n)s characters.") % {"n": MAX_VALUE_LENGTH}}
            )
        if operator in NUMERIC_OPERATORS and not _is_decimal(text):
            raise ValidationError(
                {
                    "value": _("“%(value)s” is not a number; “%(op)s” compares numbers.")
                    % {"value": text, "op": OPERATORS[operator]}
                }
            )
        cleaned["value"] = text
    return cleaned


def conditions_clean(raw: Any, *, kind: str) -> list[dict[str, Any]]:
    """The whole list, or ValidationError({"conditions": […]}) naming each bad condition."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError({"conditions": _("Conditions must be a list.")})
    if len(raw) > MAX_CONDITIONS:
        raise ValidationError(
            {"conditions": _("At most %(n)s conditions per rule.") % {"n": MAX_CONDITIONS}}
        )
    cleaned, problems = [], []
    for index, item in enumerate(raw, start=1):
        try:
            cleaned.append(condition_clean(item, kind=kind))
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    problems.append(
                        _("Condition %(n)s, %(field)s: %(message)s")
                        % {"n": index, "field": field, "message": message}
                    )
    if problems:
        raise ValidationError({"conditions": problems})
    return cleaned


def condition_describe(condition: dict[str, Any]) -> str:
    operator = condition["operator"]
    label = str(OPERATORS.get(operator, operator))
    value = condition.get("value")
    if operator in NO_VALUE_OPERATORS:
        return f"{condition['property']} {label}"
    if isinstance(value, list):
        value = ", ".join(value)
    return f"{condition['property']} {label} “{value}”"


# --- SQL -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sql:
    text: str
    params: list[Any]


def _ordered(text: str, v: str, path: list[str], values: list[Any]) -> Sql:
    """Expand each `{v}` of `text` into `v` (which carries one path parameter) and keep the
    parameters in the order their placeholders appear."""
    params: list[Any] = []
    out: list[str] = []
    pending = list(values)
    i = 0
    while i < len(text):
        if text.startswith("{v}", i):
            out.append(v)
            params.append(path)
            i += 3
        elif text.startswith("%s", i):
            out.append("%s")
            params.append(pending.pop(0))
            i += 2
        else:
            out.append(text[i])
            i += 1
    assert not pending, "more values than placeholders"
    return Sql("".join(out), params)


def _negate(sql: Sql, negate: bool) -> Sql:
    return Sql(f"NOT {sql.text}", sql.params) if negate else sql


def _json_predicate(j: str, path: list[str], operator: str, value: Any) -> Sql:
    """`j` is an SQL jsonb expression (the event's or the contact's properties). Never NULL."""
    v = f"({j} #> %s::text[])"
    if operator in NO_VALUE_OPERATORS:
        text = "coalesce(jsonb_typeof({v}) <> 'null' AND {v} <> '\"\"'::jsonb, false)"
        return _negate(_ordered(text, v, path, []), operator == "not_exists")
    if operator in ("eq", "neq", "in", "not_in"):
        values = list(value) if isinstance(value, list) else [value]
        numbers = [item for item in values if _is_decimal(item)]
        text = (
            "(CASE jsonb_typeof({v}) "
            "WHEN 'string' THEN lower({v} #>> '{}') IN (SELECT lower(x) FROM unnest(%s::text[]) AS x) "
            "WHEN 'boolean' THEN ({v} #>> '{}') IN (SELECT lower(x) FROM unnest(%s::text[]) AS x) "
            "WHEN 'number' THEN ({v})::numeric = ANY(%s::numeric[]) "
            "ELSE false END)"
        )
        sql = _ordered(text, v, path, [values, values, numbers])
        return _negate(sql, operator in ("neq", "not_in"))
    if operator == "contains":
        text = (
            "(CASE jsonb_typeof({v}) "
            "WHEN 'string' THEN strpos(lower({v} #>> '{}'), lower(%s)) > 0 "
            "WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements({v}) AS x "
            "WHERE jsonb_typeof(x) = 'string' AND lower(x #>> '{}') = lower(%s)) "
            "ELSE false END)"
        )
        return _ordered(text, v, path, [value, value])
    compare = NUMERIC_OPERATORS[operator]
    text = (
        "(CASE jsonb_typeof({v}) "
        f"WHEN 'number' THEN ({{v}})::numeric {compare} %s::numeric "
        f"WHEN 'string' THEN CASE WHEN ({{v}} #>> '{{}}') ~ {_DECIMAL_SQL} "
        f"THEN ({{v}} #>> '{{}}')::numeric {compare} %s::numeric ELSE false END "
        "ELSE false END)"
    )
    return _ordered(text, v, path, [value, value])


def _text_predicate(t: str, operator: str, value: Any) -> Sql:
    """`t` is an SQL text expression; the empty string counts as missing."""
    t = f"nullif({t}, '')"
    if operator in NO_VALUE_OPERATORS:
        return Sql(f"({t} IS {'NOT ' if operator == 'exists' else ''}NULL)", [])
    if operator in ("eq", "neq", "in", "not_in"):
        values = value if isinstance(value, list) else [value]
        sql = Sql(
            f"coalesce(lower({t}) IN (SELECT lower(x) FROM unnest(%s::text[]) AS x), false)",  # noqa: S608
            [values],
        )
        return sql if operator in ("eq", "in") else Sql(f"NOT {sql.text}", sql.params)
    if operator == "contains":
        return Sql(f"coalesce(strpos(lower({t}), lower(%s)) > 0, false)", [value])
    compare = NUMERIC_OPERATORS[operator]
    return Sql(
        f"(CASE WHEN {t} ~ {_DECIMAL_SQL} THEN {t}::numeric {compare} %s::numeric ELSE false END)",
        [value],
    )


def condition_sql(condition: dict[str, Any], *, kind: str, alias: str) -> Sql:
    """SQL that is true when the row matches. `alias` is the event ("e") or contact ("c")."""
    prop, operator, value = condition["property"], condition["operator"], condition.get("value")
    if kind == "fit":
        if prop.startswith(CONTACT_PROPERTIES_PREFIX):
            path = prop[len(CONTACT_PROPERTIES_PREFIX) :].split(".")
            return _json_predicate(f"{alias}.properties", path, operator, value)
        return _text_predicate(CONTACT_FIELDS[prop].replace("c.", f"{alias}."), operator, value)
    return _json_predicate(f"{alias}.properties", prop.split("."), operator, value)


def conditions_sql(conditions: Sequence[dict[str, Any]], *, kind: str, alias: str) -> Sql:
    """All conditions ANDed; "true" for none."""
    parts = [condition_sql(c, kind=kind, alias=alias) for c in conditions]
    if not parts:
        return Sql("true", [])
    return Sql(
        " AND ".join(f"({p.text})" for p in parts), [param for p in parts for param in p.params]
    )


# --- Python reference ----------------------------------------------------------------------

_MISSING = object()


def _resolve(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return Decimal(repr(value))
        except InvalidOperation:
            return None
    if isinstance(value, str) and _is_decimal(value):
        return Decimal(value)
    return None


def _json_eq(found: Any, wanted: str) -> bool:
    if isinstance(found, bool):
        return ("true" if found else "false") == wanted.lower()
    if isinstance(found, str):
        return found.lower() == wanted.lower()
    if isinstance(found, int | float):
        return _is_decimal(wanted) and _number(found) == Decimal(wanted)
    return False


def _matches_json(found: Any, operator: str, value: Any) -> bool:
    missing = found is _MISSING or found is None
    if operator in NO_VALUE_OPERATORS:
        present = not missing and found != ""
        return present if operator == "exists" else not present
    if operator in ("eq", "in", "neq", "not_in"):
        values = value if isinstance(value, list) else [value]
        hit = not missing and any(_json_eq(found, v) for v in values)
        return hit if operator in ("eq", "in") else not hit
    if missing:
        return False
    if operator == "contains":
        if isinstance(found, str):
            return value.lower() in found.lower()
        if isinstance(found, list):
            return any(isinstance(x, str) and x.lower() == value.lower() for x in found)
        return False
    number = _number(found)
    if number is None:
        return False
    return _compare(number, operator, Decimal(value))


def _compare(number: Decimal, operator: str, wanted: Decimal) -> bool:
    if operator == "gt":
        return number > wanted
    if operator == "gte":
        return number >= wanted
    if operator == "lt":
        return number < wanted
    return number <= wanted


def _matches_text(found: str, operator: str, value: Any) -> bool:
    missing = not found
    if operator in NO_VALUE_OPERATORS:
        return (not missing) if operator == "exists" else missing
    if operator in ("eq", "in", "neq", "not_in"):
        values = value if isinstance(value, list) else [value]
        hit = not missing and found.lower() in {v.lower() for v in values}
        return hit if operator in ("eq", "in") else not hit
    if missing:
        return False
    if operator == "contains":
        return value.lower() in found.lower()
    if not _is_decimal(found):
        return False
    return _compare(Decimal(found), operator, Decimal(value))


def contact_field_value(contact: Any, field: str) -> str:
    if field == "email_domain":
        parts = (contact.email or "").lower().split("@")
        return parts[1] if len(parts) > 1 else ""
    return str(getattr(contact, field) or "")


def condition_matches(
    condition: dict[str, Any], *, kind: str, properties: Any = None, contact: Any = None
) -> bool:
    """Python twin of `condition_sql`: `properties` of an event (behaviour), or `contact`."""
    prop, operator, value = condition["property"], condition["operator"], condition.get("value")
    if kind == "fit":
        if prop.startswith(CONTACT_PROPERTIES_PREFIX):
            path = prop[len(CONTACT_PROPERTIES_PREFIX) :].split(".")
            return _matches_json(_resolve(contact.properties, path), operator, value)
        return _matches_text(contact_field_value(contact, prop), operator, value)
    return _matches_json(_resolve(properties, prop.split(".")), operator, value)


def conditions_match(conditions: Sequence[dict[str, Any]], **kwargs: Any) -> bool:
    return all(condition_matches(c, **kwargs) for c in conditions)
