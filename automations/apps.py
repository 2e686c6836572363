from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = _("Automations")

    def ready(self) -> None:
        from automations import (  # noqa: F401 (inbound handlers, signal receivers)
            provider_events,
            receivers,
        )
        from growth import navigation
        from growth.roles import Capability

        navigation.register(
            navigation.Section(
                key="journeys",
                label=_("Journeys"),
                url_name="journeys",
                capability=Capability.MANAGE_JOURNEYS,
                group=navigation.Group.MARKETING,
                order=200,
                what=_(
                    "Trigger journeys: a trigger, waits, conditions and actions across e-mail, SMS and team tasks."
                ),
                how=_(
                    "Start from a shipped journey (abandoned cart, welcome series, win-back) or build one on the canvas."
                ),
            ),
            navigation.Section(
                key="templates",
                label=_("Templates"),
                url_name="templates",
                capability=Capability.MANAGE_TEMPLATES,
                group=navigation.Group.MARKETING,
                order=210,
                what=_(
                    "E-mail and SMS templates with personalisation from each contact and their orders."
                ),
                how=_("Write a template, preview it as any contact and send yourself a test."),
            ),
        )
