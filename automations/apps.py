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
        from automations.services import codes  # noqa: F401 (the after-batch redemption step)
        from leads import panels as contact_panels

        register_demo_step()
        from automations.journeys.shipped import shipped_texts
        from growth import shipped

        shipped.register(shipped_texts())
        contact_panels.register(
            contact_panels.Panel(
                "contact_messaging_panel", _("Loading journeys and messages…"), order=20
            )
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
                    "Start from a shipped journey (abandoned cart, review request, welcome series…) or build one on the canvas."
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
                key="inbox",
                label=_("Inbox"),
                url_name="inbox",
                capability=Capability.WORK_QUEUE,
                also=Capability.VIEW_CONTACTS,
                group=navigation.Group.CUSTOMERS,
                order=90,
                what=_(
                    "Tasks for you and your roles, e.g. calling a customer who gave a low NPS score."
                ),
                how=_(
                    "Journeys (a “create task” step) and surveys create them; nothing to set up."
                ),
            ),
            navigation.Section(
                key="surveys",
                label=_("Surveys"),
                url_name="surveys",
                capability=Capability.MANAGE_JOURNEYS,
                group=navigation.Group.MARKETING,
                order=225,
                what=_("NPS and CSAT surveys answered with one click from an e-mail or SMS."),
                how=_("Create a survey, then add a “send survey” step to a journey."),
            ),
            navigation.Section(
                key="discount_codes",
                label=_("Discount codes"),
                url_name="discount_codes",
                capability=Capability.MANAGE_JOURNEYS,
                group=navigation.Group.MARKETING,
                order=230,
                what=_(
                    "Unique discount codes per contact, with how many were issued and redeemed."
                ),
                how=_("Create a pattern campaign or upload a pool of codes from your shop."),
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
            navigation.Section(
                key="webhooks",
                label=_("Webhooks"),
                url_name="webhooks",
                capability=Capability.MANAGE_SOURCES,
                group=navigation.Group.ADMIN,
                order=940,
                what=_(
                    "Other systems subscribed to Growth's events (stage changes, merges, orders, deliveries, survey answers…), with every delivery and its outcome."
                ),
                how=_(
                    "Create a subscription with the receiver's URL and the events it wants; Growth signs each request with its secret and retries when the receiver is busy."
                ),
            ),
        )
