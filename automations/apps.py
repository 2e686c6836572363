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
        from automations.demo import register_demo_step

        register_demo_step()
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
            navigation.Section(
                key="deliveries",
                label=_("Deliveries"),
                url_name="deliveries",
                capability=Capability.MANAGE_JOURNEYS,
                also=Capability.MANAGE_TEMPLATES,
                group=navigation.Group.MARKETING,
                order=220,
                what=_(
                    "Every e-mail and SMS Growth sends or holds back: status, why one waits or was not sent, the content as sent, the suppression list and the sending policy."
                ),
                how=_(
                    "Messages appear as journeys and cadences reach contacts; send yourself a test from a message template to see one now."
                ),
            ),
        )
