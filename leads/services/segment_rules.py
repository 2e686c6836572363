"""The rule language of segments and personas: validation, description and SQL.

Rules are a tree of groups and conditions:

    {"match": "all" | "any", "conditions": [condition or group, …]}

A condition is {"kind": …, parameters…}; each kind is registered in `CONDITION_KINDS` with
its validation, its description and its SQL. The whole tree compiles to ONE boolean SQL
expression over `leads_contact c`, with EXISTS / aggregate subqueries for events, orders,
consent and memberships. Every value is a bound parameter; only fixed fragments written
here (column names, operators from a closed list) are ever put into the text.

Positions in the tree have paths: the root group is "r", its children "r_0", "r_1", their
children "r_1_0", … Validation errors are keyed "<path>.<parameter>" ("r_1_0.value"), so
the rule builder puts each message next to the input that is wrong.

A `Scope` limits the contacts a compiled expression looks at (the ids a batch touched, a
range of ids for a chunked full computation, or everyone); it is also pushed into each
aggregate subquery, so evaluating a few touched contacts never aggregates every event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.models import Consent, LifecycleStage, Order, Segment
from leads.services.scoring_conditions import (
    MAX_CONDITIONS as MAX_EVENT_FILTERS,
)
from leads.services.scoring_conditions import (
    OPERATORS as PROPERTY_OPERATORS,
)
from leads.services.scoring_conditions import (
    Sql,
    condition_clean,
    condition_describe,
    condition_sql,
    conditions_sql,
)

MATCHES: dict[str, Any] = {"all": gettext_lazy("all"), "any": gettext_lazy("any")}
MAX_DEPTH = 3  # the root group and two levels of groups inside it
MAX_CONDITIONS = 40
MAX_DAYS = 3650
MAX_COUNT = 1_000_000
ROOT = "r"

# Orders that count as bought: paid and not (wholly) refunded or cancelled.
PAID_STATUSES = [
    Order.Status.PAID.value,
    Order.Status.FULFILLED.value,
    Order.Status.PARTIALLY_REFUNDED.value,
]
NET_REVENUE = "(o.total - o.refunded_total) * o.rate_to_base"

COMPARISONS: dict[str, Any] = {
    "gte": gettext_lazy("at least"),
    "gt": gettext_lazy("more than"),
    "eq": gettext_lazy("exactly"),
    "neq": gettext_lazy("not exactly"),
    "lte": gettext_lazy("at most"),
    "lt": gettext_lazy("fewer than"),
}
_SQL_COMPARISON = {"gte": ">=", "gt": ">", "eq": "=", "neq": "<>", "lte": "<=", "lt": "<"}

TEXT_OPERATORS = ("eq", "neq", "contains", "in", "not_in", "exists", "not_exists")
DATE_OPERATORS: dict[str, Any] = {
    "within_days": gettext_lazy("in the last … days"),
    "older_than_days": gettext_lazy("more than … days ago"),
    "since": gettext_lazy("on or after (date)"),
    "before": gettext_lazy("before (date)"),
    "exists": gettext_lazy("is set"),
    "not_exists": gettext_lazy("is not set"),
}
# Contact fields a "contact" condition tests: the scoring fields (text), a city kept in the
# contact's properties, and two dates.
CONTACT_TEXT_FIELDS: dict[str, Any] = {
    "email": gettext_lazy("e-mail"),
    "email_domain": gettext_lazy("e-mail domain"),
    "country": gettext_lazy("country"),
    "city": gettext_lazy("city"),
    "company": gettext_lazy("company"),
    "locale": gettext_lazy("locale"),
    "time_zone": gettext_lazy("time zone"),
    "source_channel": gettext_lazy("source"),
    "first_name": gettext_lazy("first name"),
    "last_name": gettext_lazy("last name"),
    "phone": gettext_lazy("phone"),
}
CONTACT_DATE_FIELDS: dict[str, Any] = {
    "created_at": gettext_lazy("created"),
    "last_seen_at": gettext_lazy("last seen"),
}
_FIELD_ALIASES = {"city": "properties.city"}  # as the scoring conditions know it

CONSENT_STATUSES: dict[str, Any] = {
    "granted": gettext_lazy("granted"),
    "denied": gettext_lazy("denied"),
    "none": gettext_lazy("not given either way"),
}
ORDER_MEASURES: dict[str, Any] = {
    "count": gettext_lazy("number of orders"),
    "revenue": gettext_lazy("net revenue"),
}
LAST_ORDER_OPERATORS: dict[str, Any] = {
    "within_days": gettext_lazy("in the last … days"),
    "older_than_days": gettext_lazy("more than … days ago"),
    "ever": gettext_lazy("ever (any paid order)"),
    "never": gettext_lazy("never"),
}
BOUGHT_OPERATORS: dict[str, Any] = {
    "bought": gettext_lazy("bought"),
    "not_bought": gettext_lazy("did not buy"),
}
MEMBER_OPERATORS: dict[str, Any] = {
    "in": gettext_lazy("is in"),
    "not_in": gettext_lazy("is not in"),
}


# --- Scope and context ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which contacts an evaluation looks at: `ids`, the id range (lo, hi], or everyone."""

    ids: tuple[int, ...] | None = None
    lo: int | None = None
    hi: int | None = None

    @classmethod
    def of(cls, ids: Iterable[int]) -> Scope:
        return cls(ids=tuple(sorted(set(ids))))

    @classmethod
    def between(cls, lo: int, hi: int) -> Scope:
        return cls(lo=lo, hi=hi)

    def sql(self, column: str) -> Sql:
        """`column` is a fixed column reference from this package, never user input."""
        if self.ids is not None:
            return Sql(f"{column} = ANY(%s::bigint[])", [list(self.ids)])
        if self.lo is not None and self.hi is not None:
            return Sql(f"({column} > %s AND {column} <= %s)", [self.lo, self.hi])
        return Sql("true", [])


EVERYONE = Scope()


@dataclass(frozen=True)
class Context:
    now: datetime
    scope: Scope = EVERYONE


def _join(parts: list[Sql], glue: str) -> Sql:
    return Sql(glue.join(f"({p.text})" for p in parts), [v for p in parts for v in p.params])


def _sql(text: str, *parts: Sql | list[Any]) -> Sql:
    """Fill `{}` placeholders of `text` with SQL parts and `%s` with values, keeping the
    parameters in the order they appear. Lists are values bound to `%s`, in order."""
    params: list[Any] = []
    out: list[str] = []
    pieces = iter(parts)
    i = 0
    while i < len(text):
        if text.startswith("{}", i):
            part = next(pieces)
            assert isinstance(part, Sql)
            out.append(part.text)
            params += part.params
            i += 2
        elif text.startswith("%s", i):
            values = next(pieces)
            assert isinstance(values, list) and len(values) == 1
            out.append("%s")
            params += values
            i += 2
        else:
            out.append(text[i])
            i += 1
    return Sql("".join(out), params)


def _value(v: Any) -> list[Any]:
    return [v]


# --- Validation helpers --------------------------------------------------------------------


def _int(raw: Any, attr: str, *, low: int, high: int, required: bool = True) -> int | None:
    if raw in (None, ""):
        if required:
            raise ValidationError({attr: _("Enter a number.")})
        return None
    if isinstance(raw, bool):
        raise ValidationError({attr: _("Enter a whole number.")})
    try:
        number = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationError({attr: _("Enter a whole number.")}) from None
    if not low <= number <= high:
        raise ValidationError(
            {attr: _("Enter a number from %(low)s to %(high)s.") % {"low": low, "high": high}}
        )
    return number


def _decimal(raw: Any, attr: str) -> str:
    text = str(raw if raw is not None else "").strip()
    if not re.fullmatch(r"-?\d{1,12}(\.\d{1,2})?", text):
        raise ValidationError({attr: _("Enter an amount, e.g. 250 or 99.90.")})
    return str(Decimal(text))


def _choice(raw: Any, attr: str, choices: dict[str, Any], *, default: str | None = None) -> str:
    value = raw if raw not in (None, "") else default
    if value not in choices:
        raise ValidationError(
            {
                attr: _("Choose one of: %(choices)s.")
                % {"choices": ", ".join(str(label) for label in choices.values())}
            }
        )
    return str(value)


def _days(raw: Any, attr: str = "days", *, required: bool = False) -> int | None:
    return _int(raw, attr, low=1, high=MAX_DAYS, required=required)


def _texts(raw: Any, attr: str, *, what: str) -> list[str]:
    items = raw if isinstance(raw, list) else str(raw or "").split(",")
    values = list(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))
    if not values:
        raise ValidationError({attr: _("Enter %(what)s.") % {"what": what}})
    if len(values) > 100 or any(len(v) > 200 for v in values):
        raise ValidationError({attr: _("At most 100 values of up to 200 characters each.")})
    return values


def _ids(raw: Any, attr: str) -> list[int]:
    items = raw if isinstance(raw, list) else str(raw or "").split(",")
    try:
        ids = sorted({int(str(v).strip()) for v in items if str(v).strip()})
    except ValueError:
        raise ValidationError({attr: _("Choose from the list.")}) from None
    if not ids:
        raise ValidationError({attr: _("Choose at least one.")})
    return ids


def _day(raw: Any, attr: str) -> str:
    try:
        return date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise ValidationError({attr: _("Enter a date as YYYY-MM-DD.")}) from None


def _midnight(day: str) -> datetime:
    """A calendar day of a rule starts at midnight in the shop's time zone."""
    return timezone.make_aware(
        datetime.combine(date.fromisoformat(day), time.min), timezone.get_default_timezone()
    )


def _no_extra(raw: dict[str, Any], allowed: Iterable[str]) -> None:
    extra = set(raw) - {"kind", *allowed}
    if extra:
        key = sorted(extra)[0]
        raise ValidationError({key: _("Unknown parameter “%(key)s”.") % {"key": key}})


# --- Condition kinds ------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionKind:
    key: str
    label: str | Promise
    help: str | Promise
    params: tuple[str, ...]
    clean: Callable[[dict[str, Any]], dict[str, Any]]
    describe: Callable[[dict[str, Any]], str]
    compile: Callable[[dict[str, Any], Context], Sql]
    volatile: Callable[[dict[str, Any]], bool] = field(default=lambda c: False)
    # May a persona's rules use it? (Personas are evaluated before segments, so their rules
    # cannot depend on memberships.)
    for_personas: bool = True


CONDITION_KINDS: dict[str, ConditionKind] = {}


def condition_kind_register(kind: ConditionKind) -> ConditionKind:
    """Add or replace a condition kind (the personas module fills the "persona" hook)."""
    CONDITION_KINDS[kind.key] = kind
    return kind


# Contact fields --------------------------------------------------------------------------------


def _contact_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("field", "operator", "value"))
    name = c.get("field")
    if name in CONTACT_DATE_FIELDS:
        operator = _choice(c.get("operator"), "operator", DATE_OPERATORS)
        if operator == "exists" or operator == "not_exists":
            value: Any = None
        elif operator in ("since", "before"):
            value = _day(c.get("value"), "value")
        else:
            value = _days(c.get("value"), "value", required=True)
        return {"field": name, "operator": operator, "value": value}
    if name not in CONTACT_TEXT_FIELDS:
        raise ValidationError(
            {
                "field": _("Choose a contact field: %(fields)s.")
                % {"fields": ", ".join([*CONTACT_TEXT_FIELDS, *CONTACT_DATE_FIELDS])}
            }
        )
    operator = c.get("operator") or "eq"
    if operator not in TEXT_OPERATORS:
        raise ValidationError(
            {
                "operator": _("Choose one of: %(ops)s.")
                % {"ops": ", ".join(str(PROPERTY_OPERATORS[o]) for o in TEXT_OPERATORS)}
            }
        )
    cleaned = condition_clean(
        {"property": _FIELD_ALIASES.get(name, name), "operator": operator, "value": c.get("value")},
        kind="fit",
    )
    value = cleaned["value"]
    if name == "country" and value is not None:
        value = [v.upper() for v in value] if isinstance(value, list) else value.upper()
    return {"field": name, "operator": operator, "value": value}


def _contact_describe(c: dict[str, Any]) -> str:
    name = c["field"]
    label = CONTACT_TEXT_FIELDS.get(name) or CONTACT_DATE_FIELDS.get(name) or name
    operator, value = c["operator"], c.get("value")
    if name in CONTACT_DATE_FIELDS:
        if operator == "within_days":
            return _("%(field)s in the last %(n)s days") % {"field": label, "n": value}
        if operator == "older_than_days":
            return _("%(field)s more than %(n)s days ago") % {"field": label, "n": value}
        if operator == "since":
            return _("%(field)s on or after %(day)s") % {"field": label, "day": value}
        if operator == "before":
            return _("%(field)s before %(day)s") % {"field": label, "day": value}
        return f"{label} {DATE_OPERATORS[operator]}"
    text = condition_describe({"property": str(label), "operator": operator, "value": value})
    return text


def _contact_compile(c: dict[str, Any], ctx: Context) -> Sql:
    name, operator, value = c["field"], c["operator"], c.get("value")
    if name in CONTACT_DATE_FIELDS:
        column = f"c.{name}"  # a key of CONTACT_DATE_FIELDS
        if operator == "exists":
            return Sql(f"{column} IS NOT NULL", [])
        if operator == "not_exists":
            return Sql(f"{column} IS NULL", [])
        # A missing date (never seen) makes the comparison NULL, which a WHERE treats as
        # false, and no kind negates a date test: the plain comparison can use the index.
        if operator == "within_days":
            return Sql(f"{column} >= %s", [ctx.now - timedelta(days=int(value or 0))])
        if operator == "older_than_days":
            return Sql(f"{column} < %s", [ctx.now - timedelta(days=int(value or 0))])
        if operator == "since":
            return Sql(f"{column} >= %s", [_midnight(str(value))])
        return Sql(f"{column} < %s", [_midnight(str(value))])
    if name == "country" and operator in ("eq", "in", "neq", "not_in"):
        # Stored upper-case (ISO 3166-1 alpha-2), so the plain index on country serves it.
        values = value if isinstance(value, list) else [value]
        sql = Sql("c.country = ANY(%s::text[])", [values])
        return sql if operator in ("eq", "in") else Sql(f"NOT ({sql.text})", sql.params)
    prop = _FIELD_ALIASES.get(name, name)
    return condition_sql(
        {"property": prop, "operator": operator, "value": value}, kind="fit", alias="c"
    )


def _contact_volatile(c: dict[str, Any]) -> bool:
    return c["operator"] in ("within_days", "older_than_days")


# Contact properties ----------------------------------------------------------------------------


def _property_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("key", "operator", "value"))
    key = str(c.get("key") or "").strip()
    if key.startswith("properties."):
        key = key[len("properties.") :]
    if not key:
        raise ValidationError({"key": _("Name the contact property, e.g. plan or size.shoe.")})
    try:
        cleaned = condition_clean(
            {
                "property": f"properties.{key}",
                "operator": c.get("operator"),
                "value": c.get("value"),
            },
            kind="fit",
        )
    except ValidationError as error:
        raise ValidationError(
            {("key" if k == "property" else k): v for k, v in error.message_dict.items()}
        ) from None
    return {"key": key, "operator": cleaned["operator"], "value": cleaned["value"]}


def _property_describe(c: dict[str, Any]) -> str:
    return condition_describe(
        {"property": f"properties.{c['key']}", "operator": c["operator"], "value": c.get("value")}
    )


def _property_compile(c: dict[str, Any], ctx: Context) -> Sql:
    return condition_sql(
        {"property": f"properties.{c['key']}", "operator": c["operator"], "value": c.get("value")},
        kind="fit",
        alias="c",
    )


# Lifecycle stage ---------------------------------------------------------------------------------


def _stage_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("operator", "value"))
    operator = _choice(c.get("operator"), "operator", MEMBER_OPERATORS, default="in")
    stages = _texts(c.get("value"), "value", what=_("at least one stage"))
    unknown = [s for s in stages if s not in LifecycleStage.values]
    if unknown:
        raise ValidationError(
            {
                "value": _("“%(stage)s” is not a lifecycle stage; choose from %(stages)s.")
                % {"stage": unknown[0], "stages": ", ".join(LifecycleStage.values)}
            }
        )
    return {"operator": operator, "value": stages}


def _stage_describe(c: dict[str, Any]) -> str:
    labels = _(" or ").join(str(LifecycleStage(s).label) for s in c["value"])
    if c["operator"] == "in":
        return _("stage is %(stages)s") % {"stages": labels}
    return _("stage is not %(stages)s") % {"stages": labels}


def _stage_compile(c: dict[str, Any], ctx: Context) -> Sql:
    sql = Sql("c.lifecycle_stage = ANY(%s::text[])", [c["value"]])
    return sql if c["operator"] == "in" else Sql(f"NOT ({sql.text})", sql.params)


# Score -------------------------------------------------------------------------------------------


def _score_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("operator", "value"))
    return {
        "operator": _choice(c.get("operator"), "operator", COMPARISONS, default="gte"),
        "value": _int(c.get("value"), "value", low=-1_000_000, high=1_000_000),
    }


def _score_describe(c: dict[str, Any]) -> str:
    return _("score %(op)s %(n)s") % {"op": COMPARISONS[c["operator"]], "n": c["value"]}


def _score_compile(c: dict[str, Any], ctx: Context) -> Sql:
    return Sql(f"c.score {_SQL_COMPARISON[c['operator']]} %s", [c["value"]])


# Consent -----------------------------------------------------------------------------------------


def _consent_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("channel", "status"))
    return {
        "channel": _choice(c.get("channel"), "channel", dict(Consent.Channel.choices)),
        "status": _choice(c.get("status"), "status", CONSENT_STATUSES),
    }


def _consent_describe(c: dict[str, Any]) -> str:
    return _("%(channel)s consent %(status)s") % {
        "channel": Consent.Channel(c["channel"]).label,
        "status": CONSENT_STATUSES[c["status"]],
    }


def _consent_compile(c: dict[str, Any], ctx: Context) -> Sql:
    rows = "SELECT 1 FROM leads_consent k WHERE k.contact_id = c.id AND k.channel = %s"
    if c["status"] == "none":  # no row, or a row saying "unknown"
        return Sql(f"NOT EXISTS ({rows} AND k.status <> 'unknown')", [c["channel"]])
    return Sql(f"EXISTS ({rows} AND k.status = %s)", [c["channel"], c["status"]])


# Counting subqueries ------------------------------------------------------------------------------


def _counted(
    rows: Sql, contact_column: str, aggregate: str, operator: str, value: Any, ctx: Context
) -> Sql:
    """Contacts whose `aggregate` over `rows` (FROM … WHERE …, without the contact) compares
    to `value`; contacts without rows have an aggregate of 0.

    When 0 itself passes the comparison, the test is "no group fails it" (an anti-join),
    otherwise "a group passes it" (a semi-join). Either way the grouped subquery is limited
    to the scope's contacts, so a handful of touched contacts aggregates only their rows."""
    compare = _SQL_COMPARISON[operator]
    zero_passes = _passes(Decimal(0), operator, Decimal(str(value)))
    scope = ctx.scope.sql(contact_column)
    if operator in ("gte", "gt") and Decimal(str(value)) <= (0 if operator == "gte" else -1):
        return Sql("true", [])
    if aggregate == "count(*)" and not zero_passes and _is_at_least_one(operator, value):
        # The common "did it (at least once)": a plain EXISTS the planner turns into an
        # index probe per contact or one semi-join, whichever is cheaper.
        return _sql(f"EXISTS (SELECT 1 {{}} AND {contact_column} = c.id)", rows)
    if aggregate == "count(*)" and zero_passes and _is_none(operator, value):
        return _sql(f"NOT EXISTS (SELECT 1 {{}} AND {contact_column} = c.id)", rows)
    having = f"{aggregate} {compare} %s"
    if zero_passes:
        having = f"NOT ({having})"
    grouped = _sql(
        f"SELECT {contact_column} AS contact_id {{}} AND {{}} "
        f"GROUP BY {contact_column} HAVING {having}",
        rows,
        scope,
        _value(value),
    )
    test = _sql("EXISTS (SELECT 1 FROM ({}) g WHERE g.contact_id = c.id)", grouped)
    return Sql(f"NOT {test.text}", test.params) if zero_passes else test


def _passes(found: Decimal, operator: str, wanted: Decimal) -> bool:
    return {
        "gte": found >= wanted,
        "gt": found > wanted,
        "eq": found == wanted,
        "neq": found != wanted,
        "lte": found <= wanted,
        "lt": found < wanted,
    }[operator]


def _is_at_least_one(operator: str, value: Any) -> bool:
    return (operator == "gte" and value == 1) or (operator == "gt" and value == 0)


def _is_none(operator: str, value: Any) -> bool:
    return (
        (operator == "eq" and value == 0)
        or (operator == "lt" and value == 1)
        or (operator == "lte" and value == 0)
    )


# Events ------------------------------------------------------------------------------------------


def _event_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("name", "filters", "count_operator", "count", "days"))
    name = str(c.get("name") or "").strip()
    if not name:
        raise ValidationError({"name": _("Name the event, e.g. Product Viewed.")})
    if len(name) > 200:
        raise ValidationError({"name": _("At most 200 characters.")})
    raw_filters = c.get("filters") or []
    if not isinstance(raw_filters, list):
        raise ValidationError({"filters": _("Property filters must be a list.")})
    if len(raw_filters) > MAX_EVENT_FILTERS:
        raise ValidationError(
            {"filters": _("At most %(n)s property filters.") % {"n": MAX_EVENT_FILTERS}}
        )
    count = _int(c.get("count"), "count", low=0, high=MAX_COUNT, required=False)
    filters = []
    for index, raw in enumerate(raw_filters):
        try:
            filters.append(condition_clean(raw, kind="behaviour"))
        except ValidationError as error:
            raise ValidationError(
                {f"filters.{index}.{k}": v for k, v in error.message_dict.items()}
            ) from None
    return {
        "name": name,
        "filters": filters,
        "count_operator": _choice(
            c.get("count_operator"), "count_operator", COMPARISONS, default="gte"
        ),
        "count": 1 if count is None else count,
        "days": _days(c.get("days")),
    }


def _within(days: int | None) -> str:
    return _(" in the last %(n)s days") % {"n": days} if days else ""


def _event_describe(c: dict[str, Any]) -> str:
    where = ""
    if c["filters"]:
        where = " (" + _(" and ").join(condition_describe(f) for f in c["filters"]) + ")"
    return _("did “%(name)s”%(where)s %(op)s %(n)s times%(within)s") % {
        "name": c["name"],
        "where": where,
        "op": COMPARISONS[c["count_operator"]],
        "n": c["count"],
        "within": _within(c["days"]),
    }


def _event_compile(c: dict[str, Any], ctx: Context) -> Sql:
    rows = Sql("FROM leads_event e WHERE e.name = %s", [c["name"]])
    if c["days"]:
        rows = _sql("{} AND e.occurred_at >= %s", rows, _value(ctx.now - timedelta(days=c["days"])))
    if c["filters"]:
        rows = _sql("{} AND ({})", rows, conditions_sql(c["filters"], kind="behaviour", alias="e"))
    return _counted(rows, "e.contact_id", "count(*)", c["count_operator"], c["count"], ctx)


# Orders ------------------------------------------------------------------------------------------


def _paid_orders(days: int | None, ctx: Context) -> Sql:
    rows = Sql(
        "FROM leads_order o WHERE o.contact_id IS NOT NULL AND o.status = ANY(%s::text[])",
        [PAID_STATUSES],
    )
    if days:
        rows = _sql("{} AND o.placed_at >= %s", rows, _value(ctx.now - timedelta(days=days)))
    return rows


def _orders_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("measure", "operator", "value", "days"))
    measure = _choice(c.get("measure"), "measure", ORDER_MEASURES, default="count")
    operator = _choice(c.get("operator"), "operator", COMPARISONS, default="gte")
    if measure == "count":
        value: Any = _int(c.get("value"), "value", low=0, high=MAX_COUNT)
    else:
        value = _decimal(c.get("value"), "value")
    return {"measure": measure, "operator": operator, "value": value, "days": _days(c.get("days"))}


def _orders_describe(c: dict[str, Any]) -> str:
    if c["measure"] == "count":
        text = _("paid orders: %(op)s %(n)s") % {"op": COMPARISONS[c["operator"]], "n": c["value"]}
    else:
        text = _("net revenue: %(op)s %(n)s") % {"op": COMPARISONS[c["operator"]], "n": c["value"]}
    return text + _within(c["days"])


def _orders_compile(c: dict[str, Any], ctx: Context) -> Sql:
    aggregate = "count(*)" if c["measure"] == "count" else f"sum({NET_REVENUE})"
    value = c["value"] if c["measure"] == "count" else Decimal(c["value"])
    return _counted(
        _paid_orders(c["days"], ctx), "o.contact_id", aggregate, c["operator"], value, ctx
    )


def _orders_volatile(c: dict[str, Any]) -> bool:
    return bool(c.get("days"))


def _last_order_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("operator", "value"))
    operator = _choice(c.get("operator"), "operator", LAST_ORDER_OPERATORS)
    value = None
    if operator in ("within_days", "older_than_days"):
        value = _days(c.get("value"), "value", required=True)
    return {"operator": operator, "value": value}


def _last_order_describe(c: dict[str, Any]) -> str:
    operator = c["operator"]
    if operator == "within_days":
        return _("last order in the last %(n)s days") % {"n": c["value"]}
    if operator == "older_than_days":
        return _("last order more than %(n)s days ago") % {"n": c["value"]}
    if operator == "ever":
        return _("has ordered")
    return _("never ordered")


def _last_order_compile(c: dict[str, Any], ctx: Context) -> Sql:
    operator = c["operator"]
    ever = _sql("EXISTS (SELECT 1 {} AND o.contact_id = c.id)", _paid_orders(None, ctx))
    if operator == "ever":
        return ever
    if operator == "never":
        return Sql(f"NOT {ever.text}", ever.params)
    recent = _sql("EXISTS (SELECT 1 {} AND o.contact_id = c.id)", _paid_orders(c["value"], ctx))
    if operator == "within_days":
        return recent
    return _sql("{} AND NOT {}", ever, recent)


def _last_order_volatile(c: dict[str, Any]) -> bool:
    return c["operator"] in ("within_days", "older_than_days")


def _bought_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("operator", "value", "days"))
    return {
        "operator": _choice(c.get("operator"), "operator", BOUGHT_OPERATORS, default="bought"),
        "value": _texts(c.get("value"), "value", what=_("a SKU or product name")),
        "days": _days(c.get("days")),
    }


def _bought_describe(c: dict[str, Any]) -> str:
    products = _(" or ").join(f"“{v}”" for v in c["value"])
    verb = BOUGHT_OPERATORS[c["operator"]]
    return f"{verb} {products}{_within(c['days'])}"


def _bought_compile(c: dict[str, Any], ctx: Context) -> Sql:
    # A line names its product by SKU, shop id or name, on the line or on its product row.
    wanted = [v.lower() for v in c["value"]]
    test = _sql(
        "EXISTS (SELECT 1 {} AND o.contact_id = c.id AND EXISTS ("
        "SELECT 1 FROM leads_orderline l LEFT JOIN leads_product p ON p.id = l.product_id "
        "WHERE l.order_id = o.id AND (lower(l.sku) = ANY(%s::text[]) "
        "OR lower(l.external_id) = ANY(%s::text[]) OR lower(l.name) = ANY(%s::text[]) "
        "OR lower(coalesce(p.sku, '')) = ANY(%s::text[]) "
        "OR lower(coalesce(p.name, '')) = ANY(%s::text[]))))",
        _paid_orders(c["days"], ctx),
        *[_value(wanted) for _n in range(5)],
    )
    return test if c["operator"] == "bought" else Sql(f"NOT {test.text}", test.params)


# Memberships: static lists and RFM segments, and personas (filled by leads.services.personas) ----


def _memberships(ids: list[int], ctx: Context) -> Sql:
    return Sql(
        "EXISTS (SELECT 1 FROM leads_segmentmembership m WHERE m.contact_id = c.id "
        "AND m.segment_id = ANY(%s::bigint[]) AND m.exited_at IS NULL)",
        [ids],
    )


def _segment_names(ids: list[int]) -> dict[int, str]:
    return dict(Segment.objects.filter(pk__in=ids).values_list("pk", "name"))


def _member_clean(c: dict[str, Any]) -> dict[str, Any]:
    _no_extra(c, ("operator", "segments"))
    operator = _choice(c.get("operator"), "operator", MEMBER_OPERATORS, default="in")
    ids = _ids(c.get("segments"), "segments")
    found = set(
        Segment.objects.filter(
            pk__in=ids, kind__in=[Segment.Kind.STATIC, Segment.Kind.RFM]
        ).values_list("pk", flat=True)
    )
    if len(found) != len(ids):
        raise ValidationError(
            {"segments": _("Choose static lists or RFM segments that exist (one was deleted?).")}
        )
    return {"operator": operator, "segments": ids}


def _member_describe(c: dict[str, Any]) -> str:
    names = _segment_names(c["segments"])
    listed = _(" or ").join(
        f"“{names.get(i, _('deleted list #%(id)s') % {'id': i})}”" for i in c["segments"]
    )
    return f"{MEMBER_OPERATORS[c['operator']]} {listed}"


def _member_compile(c: dict[str, Any], ctx: Context) -> Sql:
    sql = _memberships(c["segments"], ctx)
    return sql if c["operator"] == "in" else Sql(f"NOT {sql.text}", sql.params)


def _persona_unavailable(c: dict[str, Any]) -> dict[str, Any]:
    raise ValidationError({"personas": _("Personas are not available yet.")})


for _kind in (
    ConditionKind(
        "contact",
        gettext_lazy("Contact field"),
        gettext_lazy("E-mail, country, city, company, locale, time zone, source or a date."),
        ("field", "operator", "value"),
        _contact_clean,
        _contact_describe,
        _contact_compile,
        _contact_volatile,
    ),
    ConditionKind(
        "property",
        gettext_lazy("Contact property"),
        gettext_lazy("A property the shop or an import set on the contact (plan, size.shoe…)."),
        ("key", "operator", "value"),
        _property_clean,
        _property_describe,
        _property_compile,
    ),
    ConditionKind(
        "stage",
        gettext_lazy("Lifecycle stage"),
        gettext_lazy("Where the contact is: subscriber, lead, MQL, SQL, customer…"),
        ("operator", "value"),
        _stage_clean,
        _stage_describe,
        _stage_compile,
    ),
    ConditionKind(
        "score",
        gettext_lazy("Lead score"),
        gettext_lazy("The primary lead score."),
        ("operator", "value"),
        _score_clean,
        _score_describe,
        _score_compile,
    ),
    ConditionKind(
        "consent",
        gettext_lazy("Consent"),
        gettext_lazy("Permission to send e-mail, SMS or call."),
        ("channel", "status"),
        _consent_clean,
        _consent_describe,
        _consent_compile,
    ),
    ConditionKind(
        "event",
        gettext_lazy("Did an event"),
        gettext_lazy("An event by name, with property filters, how often and how recently."),
        ("name", "filters", "count_operator", "count", "days"),
        _event_clean,
        _event_describe,
        _event_compile,
        lambda c: bool(c.get("days")),
    ),
    ConditionKind(
        "orders",
        gettext_lazy("Orders"),
        gettext_lazy("How many paid orders, or how much net revenue, optionally recently."),
        ("measure", "operator", "value", "days"),
        _orders_clean,
        _orders_describe,
        _orders_compile,
        _orders_volatile,
    ),
    ConditionKind(
        "last_order",
        gettext_lazy("Last order"),
        gettext_lazy("When the last paid order was placed."),
        ("operator", "value"),
        _last_order_clean,
        _last_order_describe,
        _last_order_compile,
        _last_order_volatile,
    ),
    ConditionKind(
        "bought",
        gettext_lazy("Bought a product"),
        gettext_lazy("A paid order with this SKU or product name."),
        ("operator", "value", "days"),
        _bought_clean,
        _bought_describe,
        _bought_compile,
        lambda c: bool(c.get("days")),
    ),
    ConditionKind(
        "member",
        gettext_lazy("In a list or RFM segment"),
        gettext_lazy("Member of a static list or a shipped RFM segment."),
        ("operator", "segments"),
        _member_clean,
        _member_describe,
        _member_compile,
        for_personas=False,
    ),
    # The hook the personas part fills (leads.services.personas registers the real one).
    ConditionKind(
        "persona",
        gettext_lazy("Buyer persona"),
        gettext_lazy("Fits a buyer persona."),
        ("operator", "personas"),
        _persona_unavailable,
        lambda c: _("matches a persona"),
        lambda c, ctx: Sql("false", []),
        for_personas=False,
    ),
):
    condition_kind_register(_kind)


# --- The tree -----------------------------------------------------------------------------------


def is_group(node: Any) -> bool:
    return isinstance(node, dict) and "match" in node


def child_path(path: str, index: int) -> str:
    return f"{path}_{index}"


def path_label(path: str) -> str:
    """ "r_1_0" → "2.1": the position people see, counted from 1."""
    return ".".join(str(int(part) + 1) for part in path.split("_")[1:]) or _("top")


class _Problems:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)


def rules_clean(raw: Any, *, for_persona: bool = False) -> dict[str, Any]:
    """The rules, validated and normalised; ValidationError keyed "<path>.<parameter>" for
    every wrong input, each message saying what to do."""
    problems = _Problems()
    counter = [0]
    if not isinstance(raw, dict) or not is_group(raw):
        raise ValidationError(
            {f"{ROOT}.match": [_("Rules are a group: match all or any of a list of conditions.")]}
        )
    cleaned = _clean_group(raw, ROOT, 1, problems, counter, for_persona)
    if counter[0] > MAX_CONDITIONS:
        problems.add(
            f"{ROOT}.conditions",
            _("At most %(n)s conditions in one segment.") % {"n": MAX_CONDITIONS},
        )
    if problems.errors:
        raise ValidationError(problems.errors)
    return cleaned


def _clean_group(
    raw: dict[str, Any],
    path: str,
    depth: int,
    problems: _Problems,
    counter: list[int],
    persona: bool,
) -> dict[str, Any]:
    match = raw.get("match")
    if match not in MATCHES:
        problems.add(f"{path}.match", _("Choose “all” or “any”."))
        match = "all"
    children = raw.get("conditions")
    if not isinstance(children, list) or not children:
        problems.add(
            f"{path}.conditions",
            _("Add a condition to this group, or remove the group.")
            if path != ROOT
            else _("Add at least one condition."),
        )
        return {"match": match, "conditions": []}
    out: list[dict[str, Any]] = []
    for index, child in enumerate(children):
        here = child_path(path, index)
        if is_group(child):
            if depth >= MAX_DEPTH:
                problems.add(
                    f"{here}.match",
                    _("Groups go at most %(n)s levels deep.") % {"n": MAX_DEPTH},
                )
                continue
            out.append(_clean_group(child, here, depth + 1, problems, counter, persona))
            continue
        counter[0] += 1
        cleaned = _clean_condition(child, here, problems, persona)
        if cleaned is not None:
            out.append(cleaned)
    return {"match": match, "conditions": out}


def _clean_condition(
    raw: Any, path: str, problems: _Problems, persona: bool
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems.add(f"{path}.kind", _("A condition is an object with a kind."))
        return None
    kind = CONDITION_KINDS.get(str(raw.get("kind", "")))
    if kind is None or (persona and not kind.for_personas):
        allowed = [k for k, v in CONDITION_KINDS.items() if v.for_personas or not persona]
        problems.add(
            f"{path}.kind",
            _("Choose what to test: %(kinds)s.") % {"kinds": ", ".join(allowed)},
        )
        return None
    try:
        return {"kind": kind.key, **kind.clean(raw)}
    except ValidationError as error:
        for attr, messages in error.message_dict.items():
            for message in messages:
                problems.add(f"{path}.{attr}", message)
        return None


def errors_flat(error: ValidationError) -> list[str]:
    """Each problem as one line that names its place: "Condition 2.1, value: …"."""
    lines = []
    for key, messages in error.message_dict.items():
        path, _dot, attr = key.partition(".")
        place = (
            _("Condition %(n)s") % {"n": path_label(path)}
            if path.startswith(ROOT) and path != ROOT
            else _("Rules")
        )
        for message in messages:
            lines.append(f"{place}, {attr or _('rules')}: {message}")
    return lines


def walk(rules: dict[str, Any], path: str = ROOT) -> Iterable[tuple[str, dict[str, Any]]]:
    """Every condition of the tree with its path, depth first."""
    for index, child in enumerate(rules.get("conditions", [])):
        here = child_path(path, index)
        if is_group(child):
            yield from walk(child, here)
        else:
            yield here, child


def rules_volatile(rules: dict[str, Any]) -> bool:
    """Do the rules depend on the clock, so that members drift without new data?"""
    return any(CONDITION_KINDS[c["kind"]].volatile(c) for _path, c in walk(rules))


def rules_referenced_segments(rules: dict[str, Any]) -> set[int]:
    ids: set[int] = set()
    for _path, c in walk(rules):
        ids.update(c.get("segments") or [])
        ids.update(c.get("personas") or [])
    return ids


def rules_describe(rules: dict[str, Any], *, top: bool = True) -> str:
    parts = []
    for child in rules.get("conditions", []):
        if is_group(child):
            parts.append(f"({rules_describe(child, top=False)})")
        else:
            parts.append(condition_text(child))
    glue = _(" and ") if rules.get("match") == "all" else _(" or ")
    return glue.join(parts)


def condition_text(condition: dict[str, Any]) -> str:
    kind = CONDITION_KINDS.get(condition.get("kind", ""))
    if kind is None:
        return _("unknown condition “%(kind)s”") % {"kind": condition.get("kind")}
    try:
        return kind.describe(condition)
    except (KeyError, ValueError, TypeError, InvalidOperation):
        return _("a condition that can no longer be read")


def rules_sql(rules: dict[str, Any], ctx: Context) -> Sql:
    """The rules as one boolean expression over `leads_contact c` (rules already cleaned)."""
    parts = []
    for child in rules.get("conditions", []):
        if is_group(child):
            parts.append(rules_sql(child, ctx))
        else:
            parts.append(CONDITION_KINDS[child["kind"]].compile(child, ctx))
    if not parts:
        return Sql("false", [])
    return _join(parts, " AND " if rules.get("match") == "all" else " OR ")


def matching_sql(rules: dict[str, Any], ctx: Context) -> Sql:
    """SELECT c.id of the live contacts in the scope that match the rules."""
    return _sql(
        "SELECT c.id FROM leads_contact c WHERE {} AND c.merged_into_id IS NULL "
        "AND c.erased_at IS NULL AND ({})",
        ctx.scope.sql("c.id"),
        rules_sql(rules, ctx),
    )


def conditions_explain_sql(rules: dict[str, Any], ctx: Context) -> tuple[list[str], Sql]:
    """One row per contact in the scope: its id and, per condition (depth first), whether it
    holds. For "why is this contact in?"."""
    paths, columns = [], []
    for path, condition in walk(rules):
        paths.append(path)
        columns.append(CONDITION_KINDS[condition["kind"]].compile(condition, ctx))
    select = _join(columns, ", ") if columns else Sql("true", [])
    return paths, _sql(
        "SELECT c.id, {} FROM leads_contact c WHERE {}", select, ctx.scope.sql("c.id")
    )
