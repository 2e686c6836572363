"""bench/analytics.py at a tiny size: the generator, the baseline SQL and its view, the rollups
built from the generated shop agreeing with the raw tables, and the lag arithmetic and report
of the two scenarios (which themselves need gunicorn and Celery: `make bench`).

Runs on pytest's throwaway test database (or a bench database)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from bench import analytics

TINY = analytics.ShopSize(orders=300, sessions=1_500, contacts=300, days=60, events_per_session=2.0)


def _database_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def shop(transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> analytics.Shop:
    url = _database_url()
    name = url.rsplit("/", 1)[1]
    # The generator empties tables: only a bench database or pytest's own throwaway one,
    # which the bench's guard (names containing "bench") may let through here.
    assert "bench" in name or name.startswith("test_"), name
    monkeypatch.setattr(analytics.ingest, "guard_database", lambda database_url: None)
    return analytics.generate(url, TINY)


def _one(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


@override_settings(ROOT_URLCONF="bench.urls")
def test_generated_shop_rollups_and_baseline(shop: analytics.Shop, client: Any) -> None:
    """One shop for the three checks: generating it is most of the test's time."""
    _check_generated_shop()
    _check_rollups_agree()
    _check_baseline_view(client)


def _check_generated_shop() -> None:
    assert _one("SELECT count(*) FROM leads_order") == TINY.orders
    assert _one("SELECT count(*) FROM leads_session") == TINY.sessions
    assert _one("SELECT count(*) FROM leads_contact") == TINY.contacts
    # Every order's session has the whole funnel; ~2 funnel events a session, all in a session.
    assert _one("SELECT count(*) FROM leads_event WHERE name = 'Order Completed'") == TINY.orders
    events = _one("SELECT count(*) FROM leads_event WHERE session_id IS NOT NULL")
    assert events == _one("SELECT count(*) FROM leads_event")
    assert 1.6 * TINY.sessions < events < 2.4 * TINY.sessions
    assert _one("SELECT count(DISTINCT name) FROM leads_event") == 4
    # Statuses, currencies and refunds vary like a shop's; refunds match the refunded totals.
    assert _one("SELECT count(DISTINCT status) FROM leads_order") >= 5
    assert _one("SELECT count(DISTINCT currency) FROM leads_order") >= 4
    assert _one("SELECT count(*) FROM leads_refund") == _one(
        "SELECT count(*) FROM leads_order WHERE refunded_total > 0"
    )
    assert _one("SELECT count(*) FROM leads_order WHERE placed_at > now()") == 0
    # Repeat buyers exist; each buyer's stage change to customer is its first bought order.
    assert _one("SELECT max(n) FROM (SELECT count(*) n FROM leads_order GROUP BY contact_id) x") > 1
    assert _one("SELECT count(*) FROM leads_stagechange WHERE to_stage = 'customer'") == _one(
        "SELECT count(DISTINCT contact_id) FROM leads_order "
        "WHERE status NOT IN ('pending', 'cancelled')"
    )
    # The first touch is the contact's first session.
    assert (
        _one(
            "SELECT count(*) FROM leads_contact c JOIN LATERAL (SELECT channel FROM leads_session s "
            "WHERE s.contact_id = c.id ORDER BY started_at, id LIMIT 1) f ON true "
            "WHERE f.channel <> c.source_channel"
        )
        == 0
    )
    assert _one("SELECT count(DISTINCT channel) FROM analytics_adspend") == 4
    assert _one("SELECT count(*) FROM analytics_othercost") > 0
    # Indexes and keys are back, triggers on; the shop is found again by its size.
    assert _one("SELECT count(*) FROM pg_indexes WHERE indexname = 'event_timeline'") == 1
    assert (
        _one("SELECT count(*) FROM pg_trigger WHERE tgname = 'analytics_mark_ins'") == 6
    )  # orders, refunds, sessions, events, stage changes, contacts
    assert (
        _one(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'analytics_mark_ins' "
            "AND tgenabled <> 'O'"
        )
        == 0
    )
    kept = analytics._meta_load(_database_url())
    assert kept is not None and kept.size == TINY
    assert analytics._still_there(_database_url(), kept)


def _check_rollups_agree() -> None:
    from analytics.services.rollups import rollups_refresh

    rollups_refresh(full=True)
    for period in ("30d", "365d"):
        agreement = analytics.rollups_agree(
            _database_url(), tz="UTC", lookback_days=30, period=period
        )
        assert agreement["agree"], agreement
        assert int(agreement["raw"]["orders"]) > 0


def _check_baseline_view(client: Any) -> None:
    marketer = client.get("/bench/analytics-baseline?figure=marketer&period=30d&compare=1")
    assert marketer.status_code == 200
    body = marketer.json()
    assert [p["period"] for p in body["periods"]] == ["current", "previous"]
    assert body["periods"][0]["totals"]["sessions"] > 0
    everything = client.get("/bench/analytics-baseline?figure=manager&period=365d").json()
    paid = client.get(
        "/bench/analytics-baseline?figure=manager&period=365d&channel=google+%2F+cpc"
    ).json()
    total, cpc = everything["periods"][0]["totals"], paid["periods"][0]["totals"]
    assert 0 < cpc["orders"] < total["orders"]
    assert {row["channel"] for row in paid["periods"][0]["by_channel"]} == {"google / cpc"}


def test_periods_read_like_the_dashboards() -> None:
    today = datetime(2026, 3, 31, tzinfo=UTC).date()
    assert analytics.baseline_periods({"period": "30d"}, today) == [
        ("current", today - timedelta(days=29), today)
    ]
    periods = analytics.baseline_periods(
        {"from": "2026-03-01", "to": "2026-03-31", "compare": "1"}, today
    )
    assert [(p[1].isoformat(), p[2].isoformat()) for p in periods] == [
        ("2026-03-01", "2026-03-31"),
        ("2026-01-29", "2026-02-28"),
    ]


def test_lag_figures_count_the_never_seen_as_late() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    accepted = ["d-0", "d-1", "d-2"]
    received = {d: t0 + timedelta(seconds=i) for i, d in enumerate(accepted)}
    order_of = {d: f"o{i}" for i, d in enumerate(accepted)}
    stored = {f"o{i}": t0 + timedelta(seconds=i + 1) for i in range(3)}
    first_seen = {"o0": t0 + timedelta(seconds=11), "o1": t0 + timedelta(seconds=21)}
    counts = [(t0 + timedelta(seconds=11), 101), (t0 + timedelta(seconds=21), 102)]
    figures = analytics.lag_figures(accepted, received, stored, order_of, first_seen, counts, 100)
    visible = figures["accepted_to_visible"]
    assert figures["never_visible"] == 1
    assert (visible["p50_s"], visible["p95_s"], visible["max_s"]) == (20.0, math.inf, 20.0)
    assert figures["accepted_to_salesday"]["p50_s"] == 20.0
    assert figures["accepted_to_stored"]["p50_s"] == 1.0


def _shop_report() -> dict[str, Any]:
    shop = analytics.Shop(
        size=TINY,
        tracking_id=1,
        shop_id=2,
        generated_at="2026-01-01T00:00:00+00:00",
        generate_s=1.0,
        steps={"sessions": 0.1},
        rows={"leads_order": 300},
        build={"seconds": 1.0, "vacuum_s": 0.1, "report": {"rfm_s": 0.1}, "at": "now"},
    )
    return analytics._shop_report(shop)


def _measurement(ms: float) -> dict[str, Any]:
    return {"path": "/x", "rps": 10.0, "p50_ms": ms, "p95_ms": ms, "p99_ms": ms, "errors": 0}


def test_reports_print(capsys: pytest.CaptureFixture[str]) -> None:
    page = {
        "dashboard": "manager",
        "variant": "last 30 days",
        "path": "/dashboards/?period=30d",
        "baseline_path": "/bench/analytics-baseline?figure=manager&period=30d",
        "available": True,
        "why": "200",
        "warm": _measurement(120.0),
        "warm_baseline": _measurement(400.0),
        "cold": {"n": 1, "p50_ms": 900.0, "p95_ms": 900.0, "max_ms": 900.0},
        "cold_baseline": {"n": 1, "p50_ms": 1500.0, "p95_ms": 1500.0, "max_ms": 1500.0},
        "ratio_warm_p95": 0.3,
        "ratio_cold_p95": 0.6,
        "met": None,
    }
    missing = {
        **page,
        "dashboard": "marketer",
        "available": False,
        "why": "HTTP 404",
        "met": None,
    }
    dashboards = {
        "scenario": "dashboards",
        "analytics": "dashboards",
        "shop": _shop_report(),
        "rollups_agree": {"period": "p", "agree": True, "differ": {}, "raw": {}},
        "concurrency": 1,
        "cold": {
            "rounds": 1,
            "definition": "cold",
            "eviction": "pg_prewarm",
            "eviction_table_mb": 680,
            "shared_buffers": 16384,
            "buffers_left_max": 0,
            "restart_s": {"p50_s": 2.0},
        },
        "pages": [page, missing],
        "goal": {"goal": "g", "met": None, "detail": "d"},
    }
    spread = {"n": 3, "never": 0, "p50_s": 12.0, "p95_s": 20.0, "p99_s": 20.0, "max_s": 20.0}
    lag = {
        "scenario": "rollup-lag",
        "analytics": "lag",
        "shop": _shop_report(),
        "target": {"rps": 10.0, "errors": 0},
        "load": {
            "offered_orders_per_s": 10.0,
            "duration_s": 30.0,
            "accepted_per_s": 10.0,
            "accepted": 300,
            "stored": 300,
            "lost": 0,
            "inbound_statuses": {"done": 300},
            "all_visible_after_load_s": 12.0,
            "probe_s": 11.0,
            "workers": ["w"],
        },
        "lag": {
            "accepted_to_stored": spread,
            "stored_to_visible": spread,
            "accepted_to_visible": spread,
            "accepted_to_salesday": spread,
            "never_visible": 0,
        },
        "refreshes": {"seen": 3, "took_s": spread},
        "goal": {"goal": "g", "met": True, "detail": "d"},
    }
    failed = {"scenario": "rollup-lag", "analytics": "failed", "error": "boom", "server_log": ""}
    for result in (dashboards, lag, failed):
        rows = analytics.table_rows(result)
        assert rows and all(len(row) == 8 for row in rows)
        analytics.print_details(result)
    out = capsys.readouterr().out
    assert "not available (HTTP 404)" in out
    assert "accepted -> in analytics_attribution: p50 12.00 s" in out
