"""URLconf for benchmarks: the whole app plus a bare Django view as the baseline.

`bench/run.py` starts gunicorn with `ROOT_URLCONF=bench.urls`, so `/bench/bare` goes through
the same middleware stack as every real page but does no database or Redis work: the
floor any view of ours can reach on this machine. `/bench/analytics-baseline` is the
`dashboards` scenario's baseline: hand-written SQL over the raw tables, through the same stack.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.utils import timezone

from bench import analytics as bench_analytics
from growth import urls as growth_urls


def bare_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


def analytics_baseline_view(request: HttpRequest) -> JsonResponse:
    """The `dashboards` baseline: a dashboard's headline figures under the same query string
    (`figure=manager|marketer`, `period` or `from`/`to`, `channel`, `compare`), computed by
    hand-written SQL over the raw tables (bench/analytics.py, BASELINE_*). No sign-in."""
    zone = ZoneInfo(settings.GROWTH_REPORTING_TIME_ZONE)
    with connection.cursor() as cursor:
        figures = bench_analytics.baseline_figures(
            cursor,
            request.GET.dict(),
            tz=zone.key,
            lookback_days=settings.GROWTH_ATTRIBUTION_LOOKBACK_DAYS,
            today=timezone.now().astimezone(zone).date(),
        )
    return JsonResponse(figures)


urlpatterns = [
    path("bench/bare", bare_view, name="bench_bare"),
    path("bench/analytics-baseline", analytics_baseline_view, name="bench_analytics_baseline"),
    path("", include(growth_urls)),
]

# Error handlers are only read from the root URLconf: keep the app's own.
for _name in ("handler400", "handler403", "handler404", "handler500"):
    if hasattr(growth_urls, _name):
        globals()[_name] = getattr(growth_urls, _name)
