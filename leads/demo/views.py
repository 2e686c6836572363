"""A small storefront that carries the tracking snippet, so the demo shows live tracking.

Only served when DEMO_SHOP is on (`make demo` turns it on); it is the shop's public site,
so it needs no sign-in.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from leads.demo.catalogue import PRODUCTS
from leads.demo.sources import demo_sources, demo_write_key
from leads.models import Source


def _context(request: HttpRequest) -> dict[str, object]:
    if not settings.DEMO_SHOP:
        raise Http404("the demo shop is off")
    # The key the page carries must be live; create or re-key the sources only when it is not.
    if not Source.objects.filter(write_key_hash=Source.hash_key(demo_write_key())).exists():
        demo_sources()
    return {
        "write_key": demo_write_key(),
        "growth_host": f"{request.scheme}://{request.get_host()}",
        "products": [{"id": p[0], "name": p[1], "category": p[2], "price": p[3]} for p in PRODUCTS],
    }


def storefront(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/demo/storefront.html", _context(request))


def product(request: HttpRequest, product_id: str) -> HttpResponse:
    context = _context(request)
    found = [p for p in context["products"] if p["id"] == product_id]  # type: ignore[attr-defined]
    if not found:
        raise Http404("no such product")
    return render(request, "leads/demo/product.html", {**context, "product": found[0]})
