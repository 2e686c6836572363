"""Rebuild every rollup from the raw tables (after a restore, or a change of reporting zone)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from analytics.services.rollups import rollups_refresh


class Command(BaseCommand):
    help = "Recompute all analytics rollups from orders, sessions, events and stage changes."

    def handle(self, *args: Any, **options: Any) -> None:
        report = rollups_refresh(full=True)
        self.stdout.write(
            f"Rollups rebuilt in {report.took_ms} ms: {report.contacts} customers, "
            + ", ".join(f"{days} {kind} days" for kind, days in report.days.items())
        )
