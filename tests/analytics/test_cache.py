"""Cached all-customer figures never outlive the data they were read from."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from analytics.filters import Filters
from analytics.selectors_clv import predictive_clv
from analytics.services.clv import clv_fit
from analytics.services.rollups import rollups_refresh
from tests.analytics.test_clv_fit import NOW, shop

pytestmark = pytest.mark.django_db

PERIOD = Filters(start=date(2026, 1, 1), end=date(2026, 6, 30))


@time_machine.travel(NOW, tick=False)
def test_a_new_fit_or_refresh_shows_at_once(django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    assert predictive_clv(PERIOD)["customers"] == 0
    with django_assert_num_queries(0):
        assert predictive_clv(PERIOD)["customers"] == 0  # from the cache

    shop(40)
    rollups_refresh()
    clv_fit()

    assert predictive_clv(PERIOD)["customers"] == 40
