"""URLconf for benchmarks: the whole app plus a bare Django view as the baseline.

`bench/run.py` starts gunicorn with `ROOT_URLCONF=bench.urls`, so `/bench/bare` goes through
the same middleware stack as every real page but does no database or Redis work: the
floor any view of ours can reach on this machine.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from growth import urls as growth_urls


def bare_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare", bare_view, name="bench_bare"),
    path("", include(growth_urls)),
]

# Error handlers are only read from the root URLconf: keep the app's own.
for _name in ("handler400", "handler403", "handler404", "handler500"):
    if hasattr(growth_urls, _name):
        globals()[_name] = getattr(growth_urls, _name)
