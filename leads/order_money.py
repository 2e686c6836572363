"""How an order's money and status count, as SQL over `leads_order` (alias `o` unless told):
one definition for every figure that sums orders (dashboards, journey results, references).

- a **placed** order is any order not pending; a **bought** one is placed and not cancelled;
- its **gross** is total x rate_to_base, its **net** is 0 when cancelled, else (total -
  refunded_total) x rate_to_base, each converted and rounded to the cent per order, so every
  sum of orders is exact in cents;
- it is **returned** when cancelled or refunded, wholly or in part.
"""

from __future__ import annotations


def bought(o: str = "o") -> str:
    return f"{o}.status NOT IN ('pending', 'cancelled')"


def net(o: str = "o") -> str:
    return (
        f"(CASE WHEN {o}.status = 'cancelled' THEN 0 "
        f"ELSE round(({o}.total - {o}.refunded_total) * {o}.rate_to_base, 2) END)"
    )


PLACED = "o.status <> 'pending'"
BOUGHT = bought()
GROSS = "round(o.total * o.rate_to_base, 2)"
NET = net()
RETURNED = "(o.status IN ('cancelled', 'refunded', 'partially_refunded') OR o.refunded_total > 0)"
