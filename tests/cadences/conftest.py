"""The provider stand-in fixtures of the messaging tests: automatic steps use them too."""

from tests.automations.conftest import standin, standin_settings  # noqa: F401
