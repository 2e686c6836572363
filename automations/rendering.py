"""Templates rendered for one contact: Django's template language on a locked-down engine,
over plain data (never model objects, so a template cannot call a method that writes).

A template is checked when saved: syntax, tags that need files (include, extends, load),
and names it uses that no message knows (a typo like {{ contct.first_name }} would else
render as nothing in every message)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import Node, NodeList, VariableNode
from django.template.defaulttags import ForNode, WithNode
from django.template.loader_tags import ExtendsNode, IncludeNode
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automations.consent_links import preferences_url
from automations.models import MessageTemplate, TemplateContent
from growth.sql import dict_rows
from leads.models import Contact

# What a message can say: the names a template may use at its top level.
NAMES = {
    "contact": gettext_lazy(
        "the contact: first_name, last_name, email, phone, company, country, city …"
    ),
    "last_order": gettext_lazy("the latest order: number, total, currency, placed_at, lines"),
    "viewed_products": gettext_lazy(
        "products the contact viewed lately (name, url, price, image_url)"
    ),
    "bought_products": gettext_lazy("products the contact bought"),
    "recommendations": gettext_lazy("products bought by people who bought what the contact bought"),
    "discount_code": gettext_lazy("the contact's discount code, when the message comes with one"),
    "shop": gettext_lazy("your shop: name, url"),
    "survey_url": gettext_lazy("the survey's answer page, in a message that sends a survey"),
    "survey_scores": gettext_lazy(
        "one (score, url) per score, for one-click answers in the message"
    ),
    "unsubscribe_url": gettext_lazy("the contact's one-click page to stop marketing e-mails"),
    "preferences_url": gettext_lazy("the contact's page to choose which messages they get"),
}
PRODUCTS_SHOWN = 3

# No loaders: include/extends have nothing to read. `load` is refused at save.
# debug=True only so syntax errors carry their line number for the editor.
_HTML = Engine(autoescape=True, loaders=[], libraries={}, debug=True)
_PLAIN = Engine(autoescape=False, loaders=[], libraries={}, debug=True)


class TemplateProblem(Exception):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Rendered:
    subject: str
    preheader: str
    html: str
    text: str


def _children(node: Node) -> list[tuple[NodeList, set[str]]]:
    """A node's child node lists, with the names each one binds (loop and with variables)."""
    bound: set[str] = set()
    if isinstance(node, ForNode):
        bound = {*node.loopvars, "forloop"}
    elif isinstance(node, WithNode):
        bound = set(node.extra_context)
    lists = []
    for attr in node.child_nodelists:
        nodelist = getattr(node, attr, None)
        if nodelist:
            lists.append((nodelist, bound if attr != "nodelist_empty" else set()))
    if hasattr(node, "conditions_nodelists"):  # {% if %}: every branch
        lists.extend((nl, set()) for _cond, nl in node.conditions_nodelists)
    return lists


def _roots(node: Node) -> list[str]:
    """Top-level names a node reads: {{ x.y }}, {% for p in x %}, {% with a=x %}."""
    expressions: list[Any] = []
    if isinstance(node, VariableNode):
        expressions.append(node.filter_expression)
    elif isinstance(node, ForNode):
        expressions.append(node.sequence)
    elif isinstance(node, WithNode):
        expressions.extend(node.extra_context.values())
    names = []
    for expression in expressions:
        var = getattr(expression, "var", None)
        lookups = getattr(var, "lookups", None)
        if lookups:
            names.append(lookups[0])
    return names


def _check(nodelist: NodeList, bound: set[str], unknown: list[str]) -> None:
    for node in nodelist:
        if isinstance(node, IncludeNode | ExtendsNode):
            raise TemplateProblem(_("Templates cannot include or extend other files."))
        for name in _roots(node):
            if name not in NAMES and name not in bound and name not in unknown:
                unknown.append(name)
        for child, binds in _children(node):
            _check(child, bound | binds, unknown)


def template_compile(source: str, *, html: bool) -> Template:
    """Compile and check one part of a template; TemplateProblem says what is wrong."""
    if "{% load" in source or "{%load" in source:
        raise TemplateProblem(_("Templates cannot load tag libraries."))
    try:
        template = (_HTML if html else _PLAIN).from_string(source)
    except TemplateSyntaxError as error:
        line = None
        info = getattr(error, "template_debug", None)
        if info:
            line = info.get("line")
        raise TemplateProblem(str(error), line) from error
    unknown: list[str] = []
    _check(template.nodelist, set(), unknown)
    if unknown:
        raise TemplateProblem(
            _("Unknown name %(names)s. A message can use: %(known)s.")
            % {
                "names": ", ".join(f"“{name}”" for name in unknown),
                "known": ", ".join(sorted(NAMES)),
            }
        )
    return template


PRODUCT = "p.name, p.url, p.image_url, p.price, p.currency, p.category"


def message_context(
    contact: Contact, *, discount_code: str = "", extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything a template can read about `contact`, as plain data. Four queries."""
    props = contact.properties or {}
    last_orders = dict_rows(
        """SELECT o.id, coalesce(nullif(o.order_number, ''), o.shop_order_id) AS number,
                  o.total, o.currency, o.placed_at
           FROM leads_order o WHERE o.contact_id = %s ORDER BY o.placed_at DESC LIMIT 1""",
        [contact.pk],
    )
    last_order = None
    if last_orders:
        last_order = last_orders[0]
        last_order["lines"] = dict_rows(
            "SELECT name, sku, quantity FROM leads_orderline WHERE order_id = %s ORDER BY id",
            [last_order.pop("id")],
        )
    viewed = dict_rows(
        f"""SELECT {PRODUCT} FROM leads_product p JOIN (
                SELECT e.properties->>'product_id' AS product, max(e.occurred_at) AS at
                FROM leads_event e
                WHERE e.contact_id = %s AND e.name = 'Product Viewed'
                GROUP BY 1 ORDER BY 2 DESC LIMIT {PRODUCTS_SHOWN}) v ON v.product = p.external_id
            ORDER BY v.at DESC""",  # noqa: S608 (constants only)
        [contact.pk],
    )
    # Bought, and the products most often bought by the buyers of those (or best sellers).
    products = dict_rows(
        f"""WITH mine AS (
                SELECT DISTINCT l.product_id FROM leads_orderline l
                JOIN leads_order o ON o.id = l.order_id
                WHERE o.contact_id = %s AND l.product_id IS NOT NULL),
            peers AS (
                SELECT DISTINCT o.contact_id FROM leads_orderline l
                JOIN leads_order o ON o.id = l.order_id
                WHERE l.product_id IN (SELECT product_id FROM mine) AND o.contact_id <> %s),
            ranked AS (
                SELECT l.product_id, count(*) AS n,
                       bool_or(o.contact_id IN (SELECT contact_id FROM peers)) AS by_peers
                FROM leads_orderline l JOIN leads_order o ON o.id = l.order_id
                WHERE l.product_id IS NOT NULL
                  AND l.product_id NOT IN (SELECT product_id FROM mine)
                GROUP BY 1
                ORDER BY bool_or(o.contact_id IN (SELECT contact_id FROM peers)) DESC, 2 DESC
                LIMIT {PRODUCTS_SHOWN})
            SELECT 'bought' AS kind, {PRODUCT} FROM leads_product p
            WHERE p.id IN (SELECT product_id FROM mine)
            UNION ALL
            SELECT 'recommended', {PRODUCT} FROM ranked r JOIN leads_product p ON p.id = r.product_id
            """,  # noqa: S608 (constants only)
        [contact.pk, contact.pk],
    )
    bought = [p for p in products if p["kind"] == "bought"]
    recommended = [p for p in products if p["kind"] == "recommended"]
    for product in products:
        del product["kind"]
    return {
        "contact": {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "name": f"{contact.first_name} {contact.last_name}".strip(),
            "email": contact.email,
            "phone": contact.phone,
            "company": contact.company,
            "country": contact.country,
            "city": props.get("city", ""),
            "locale": contact.locale,
            "properties": props,
        },
        "last_order": last_order,
        "viewed_products": viewed,
        "bought_products": bought[:PRODUCTS_SHOWN],
        "recommendations": recommended,
        "discount_code": discount_code,
        "shop": {"name": settings.SHOP_NAME, "url": settings.SHOP_URL},
        "unsubscribe_url": preferences_url(contact.pk),
        "preferences_url": preferences_url(contact.pk),
        "survey_url": "",
        "survey_scores": [],
        **(extra or {}),
    }


def sample_context() -> dict[str, Any]:
    """A made-up contact for checking templates at save and for previews without one."""
    product = {
        "name": "Trail Runner 2",
        "url": "https://shop.example/p/trail-runner-2",
        "image_url": "",
        "price": Decimal("89.00"),
        "currency": "EUR",
        "category": "shoes",
    }
    return {
        "contact": {
            "first_name": "Alex",
            "last_name": "Example",
            "name": "Alex Example",
            "email": "alex@example.com",
            "phone": "+4915112345678",
            "company": "",
            "country": "DE",
            "city": "Berlin",
            "locale": "en",
            "properties": {},
        },
        "last_order": {
            "number": "1001",
            "total": Decimal("129.90"),
            "currency": "EUR",
            "placed_at": None,
            "lines": [{"name": "Trail Runner 2", "sku": "TR2-42", "quantity": 1}],
        },
        "viewed_products": [product],
        "bought_products": [product],
        "recommendations": [{**product, "name": "Merino Socks", "price": Decimal("14.00")}],
        "discount_code": "SAMPLE-10",
        "survey_url": settings.PUBLIC_URL + "/s/sample/",
        "survey_scores": [(n, f"{settings.PUBLIC_URL}/s/sample/{n}/") for n in range(11)],
        "shop": {"name": settings.SHOP_NAME, "url": settings.SHOP_URL},
        "unsubscribe_url": settings.PUBLIC_URL + "/u/sample/",
        "preferences_url": settings.PUBLIC_URL + "/u/sample/",
    }


def content_for(template: MessageTemplate, locale: str) -> TemplateContent | None:
    """The contact's language, else its base language (de-AT → de), else the default."""
    contents = {c.locale: c for c in template.contents.all()}
    for candidate in (locale, locale.split("-")[0].split("_")[0], template.default_locale):
        if candidate in contents:
            return contents[candidate]
    return next(iter(contents.values()), None)


def message_for(template: MessageTemplate, contact: Contact, **context: Any) -> Rendered:
    """`template` written for `contact`, in its language. Raises TemplateProblem when the
    template has no content or this contact's data breaks it (the caller says so on the
    one message; the others go on)."""
    content = content_for(template, contact.locale or template.default_locale)
    if content is None:
        raise TemplateProblem(_("the template has no content"))
    return message_render(content, message_context(contact, **context))


def message_render(content: TemplateContent | Any, context: dict[str, Any]) -> Rendered:
    """Render every part; a TemplateProblem names the part that failed."""
    parts: dict[str, str] = {}
    for part, is_html in (
        ("subject", False),
        ("preheader", False),
        ("html", True),
        ("text", False),
    ):
        source = getattr(content, part)
        try:
            parts[part] = (
                template_compile(source, html=is_html).render(Context(context, autoescape=is_html))
                if source
                else ""
            )
        except TemplateProblem as problem:
            raise TemplateProblem(f"{part}: {problem.message}", problem.line) from problem
        except Exception as error:  # a filter that fails on this contact's data
            raise TemplateProblem(f"{part}: {error}") from error
    html = parts["html"]
    if html and parts["preheader"]:
        # The preview line mail apps show after the subject; hidden in the message itself.
        hidden = f'<div style="display:none;max-height:0;overflow:hidden">{escape(parts["preheader"])}</div>'
        html = hidden + html
    return Rendered(parts["subject"].strip(), parts["preheader"], html, parts["text"])
