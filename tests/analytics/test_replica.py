"""Dashboards on a read replica: with a `replica` alias, the dashboard pages and their CSV
exports read there (ORM and raw SQL alike) and write nothing there, while the rollup refresh
and every other page stay on the primary; the cache never keeps a lagging replica's figures
under the current data version.

The replica here is a second connection to the test database (a test mirror of default, as
settings configure it for DATABASE_REPLICA_URL), added for this module only: the rest of the
suite runs without one. Tests are transactional, so the primary's rows are committed and a
second connection sees them, as a replica would once it has replayed them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.services.rollups import rollups_refresh
from growth import replica
from growth.replica import REPLICA
from growth.roles import Role
from tests.analytics.test_dashboard_pages import MARCH, build_shop, page, read_csv, values

pytestmark = [
    pytest.mark.usefixtures("replica_alias"),
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA]),
]

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|TRUNCATE|CREATE|ALTER|DROP)\b", re.IGNORECASE)
# Tables only the dashboards' figures read (the rollups and the raw tables behind them).
FIGURE_TABLES = re.compile(r'"?(analytics_(?!refreshstate)\w+|leads_order\w*|leads_session)"?')


@pytest.fixture(scope="module")
def replica_alias(django_db_setup: None) -> Iterator[None]:
    """settings.DATABASES["replica"] as DATABASE_REPLICA_URL makes it, pointing at the test
    database (the default alias' settings once the test database exists)."""
    config = copy.deepcopy(connections[DEFAULT_DB_ALIAS].settings_dict)
    config["TEST"] = {**config["TEST"], "MIRROR": DEFAULT_DB_ALIAS}
    settings.DATABASES[REPLICA] = config
    connections.settings[REPLICA] = config  # the same dict today; never rely on it
    yield
    connections[REPLICA].close()
    del connections[REPLICA]
    connections.settings.pop(REPLICA, None)
    settings.DATABASES.pop(REPLICA, None)


class Captured:
    def __init__(self, alias: str) -> None:
        self.context = CaptureQueriesContext(connections[alias])

    @property
    def sql(self) -> list[str]:
        return [q["sql"] for q in self.context.captured_queries]

    def figures(self) -> list[str]:
        return [s for s in self.sql if FIGURE_TABLES.search(s)]

    def writes(self) -> list[str]:
        return [s for s in self.sql if WRITES.match(s)]


def capture(action: Any) -> tuple[Any, Captured, Captured]:
    primary, secondary = Captured(DEFAULT_DB_ALIAS), Captured(REPLICA)
    with primary.context, secondary.context:
        result = action()
    return result, primary, secondary


def test_the_replica_alias_is_the_dashboards_reading_alias() -> None:
    assert replica.reading_alias() == REPLICA
    assert replica.current_alias() == DEFAULT_DB_ALIAS  # outside a dashboard: the primary
    with replica.dashboard_reads():
        assert replica.current_alias() == REPLICA
    assert replica.current_alias() == DEFAULT_DB_ALIAS


def test_manager_and_marketer_dashboards_read_through_the_replica(client_as: Any) -> None:
    build_shop()  # written and rolled up on the primary
    client = client_as(Role.MANAGER, Role.MARKETER)

    manager, primary, secondary = capture(lambda: page(client, "dashboards", **MARCH))
    assert values(manager)["net_revenue"] == "185.00" and values(manager)["roas"] == "\u00d73.10"
    assert secondary.figures(), secondary.sql  # the rollups and the raw SQL read there
    assert any("analytics_salesday" in s for s in secondary.sql)
    assert not secondary.writes(), secondary.writes()
    # The primary answers the session, the user and its roles, and where its WAL is (the
    # cache asks before it keeps a figure computed on the replica); no figure.
    assert not primary.figures(), primary.figures()
    assert any("pg_current_wal_lsn" in s for s in primary.sql)

    marketing, primary, secondary = capture(lambda: page(client, "dashboards_marketing", **MARCH))
    assert "spring" in marketing.html
    assert secondary.figures() and not secondary.writes()
    assert not primary.figures(), primary.figures()

    # From the cache now: the replica is asked for the page's small reads only.
    _again, primary, secondary = capture(lambda: page(client, "dashboards", **MARCH))
    assert not primary.figures() and not secondary.writes()
    assert not any("pg_current_wal_lsn" in s for s in primary.sql)

    rows, primary, secondary = capture(
        lambda: read_csv(client.get(reverse("dashboards_export", args=["revenue"]), MARCH))
    )
    assert rows[0] and secondary.figures() and not primary.figures()


def test_writes_and_other_pages_stay_on_the_primary(client_as: Any) -> None:
    build_shop()
    client = client_as(Role.MANAGER)

    _report, primary, secondary = capture(lambda: rollups_refresh(full=True))
    assert primary.writes() and not secondary.sql  # the refresh never touches the replica

    # The orders behind a figure are a list page, not a dashboard: the primary.
    _orders, primary, secondary = capture(
        lambda: client.get(reverse("dashboards_orders"), MARCH)  # the figures' drill-down
    )
    assert primary.figures() and not secondary.sql


def test_a_lagging_replica_is_not_cached_as_current(
    client_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica that has not replayed the primary's latest commits: its figures would be
    the last version's, so the cached figure is computed on the primary instead. One server
    cannot lag behind itself, so the primary's position is moved beyond any replayed one
    (the boundary is PostgreSQL's WAL, not ours)."""
    assert not replica.replayed_past(REPLICA, "FFFFFFFF/FFFFFFFF")
    assert replica.replayed_past(REPLICA, replica.primary_position())
    assert replica.caught_up(REPLICA) and replica.caught_up(DEFAULT_DB_ALIAS)

    build_shop()
    client = client_as(Role.MANAGER)
    monkeypatch.setattr(replica, "primary_position", lambda: "FFFFFFFF/FFFFFFFF")
    lagging, primary, secondary = capture(lambda: page(client, "dashboards", **MARCH))
    assert values(lagging)["net_revenue"] == "185.00"
    assert len(primary.figures()) > 5  # the cached figures: from the primary
    # Only the filter bar's choices (never cached; a little lag does it no harm) read there.
    assert [s for s in secondary.figures() if "AS kind" not in s] == []
    assert any("pg_last_wal_replay_lsn" in s for s in secondary.sql)

    # Caught up: the figure cached from the primary is the current version's, and is used.
    monkeypatch.undo()
    cached, primary, secondary = capture(lambda: page(client, "dashboards", **MARCH))
    assert values(cached) == values(lagging)
    assert not primary.figures()
    assert [s for s in secondary.figures() if "AS kind" not in s] == []


@pytest.fixture
def replica_down() -> Iterator[None]:
    """The replica's server stops answering (nothing listens on port 1)."""
    config = settings.DATABASES[REPLICA]
    port = config["PORT"]
    connections[REPLICA].close()
    del connections[REPLICA]
    config["PORT"] = "1"
    yield
    del connections[REPLICA]
    config["PORT"] = port


def test_a_replica_that_does_not_answer_leaves_the_dashboards_on_the_primary(
    client_as: Any, replica_down: None
) -> None:
    build_shop()
    client = client_as(Role.MANAGER)
    primary = Captured(DEFAULT_DB_ALIAS)  # capturing on the replica would connect to it
    with primary.context:
        response = page(client, "dashboards", **MARCH)
    assert values(response)["net_revenue"] == "185.00"
    assert primary.figures()
