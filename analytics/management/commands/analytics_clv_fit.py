"""Fit predictive CLV now (beat does it nightly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analytics.services.clv import clv_fit


class Command(BaseCommand):
    help = "Fit BG/NBD + Gamma-Gamma over the customers and store every prediction."

    def handle(self, *args: Any, **options: Any) -> None:
        fit = clv_fit()
        if fit.error:
            self.stdout.write(f"No fit: {fit.error}")
        else:
            self.stdout.write(
                f"Fitted on {fit.customers} customers ({fit.repeat_buyers} repeat buyers), "
                f"{fit.predicted} predictions, {fit.took_ms} ms."
            )
