"""Fixtures for automations tests: the provider stand-in and settings that point the real
clients (anymail's SendGrid backend, the twilio library) at it.

`standin` starts one fresh stand-in server per test and stops it afterwards. Starting one
takes about a millisecond, and a fresh server means no recorded message, pending fault or
delay can leak from one test into the next, and a test may `stop()` it to play a provider
outage without disturbing others.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.standin import StandIn

STANDIN_FROM_NUMBER = "+15005550006"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def standin_settings(settings: SettingsWrapper, standin: StandIn) -> StandIn:
    """Provider settings pointing at `standin`, with its credentials; returns the stand-in."""
    settings.SENDGRID_API_KEY = standin.sendgrid_api_key
    settings.SENDGRID_API_URL = standin.sendgrid_api_url
    settings.ANYMAIL = {
        **getattr(settings, "ANYMAIL", {}),
        "SENDGRID_API_KEY": standin.sendgrid_api_key,
        "SENDGRID_API_URL": standin.sendgrid_api_url,
    }
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Growth Shop <hello@shop.example>"
    settings.TWILIO_ACCOUNT_SID = standin.twilio_account_sid
    settings.TWILIO_AUTH_TOKEN = standin.twilio_auth_token
    settings.TWILIO_FROM_NUMBER = STANDIN_FROM_NUMBER
    settings.TWILIO_API_BASE_URL = standin.twilio_base_url
    return standin
