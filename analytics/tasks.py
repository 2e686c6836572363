"""Thin Celery tasks of analytics: the services do the work."""

from __future__ import annotations

from celery import shared_task

from growth.celery import Queue


@shared_task(name="analytics.rollups_refresh", ignore_result=True, queue=Queue.ANALYTICS)
def rollups_refresh_task(full: bool = False) -> None:
    """Beat, every 10 s: recompute the days and customers that changed (a no-op when none)."""
    from analytics.services.rollups import rollups_refresh

    rollups_refresh(full=full)


@shared_task(name="analytics.clv_fit", ignore_result=True, queue=Queue.LONG)
def clv_fit_task() -> None:
    """Nightly: refit predictive CLV on the day's data and store every customer's prediction."""
    from analytics.services.clv import clv_fit

    clv_fit()
