"""Tables of automations: deliveries and what decides whether and when they go out.
Journeys, templates, surveys and discount codes are added by the parts that build them."""

from automations.models.delivery import Delivery, SendingPolicy, Suppression
from automations.models.journeys import Journey, JourneyRun, JourneyVersion, RunStep
from automations.models.templates import MessageTemplate, TemplateContent

__all__ = [
    "Delivery",
    "Journey",
    "JourneyRun",
    "JourneyVersion",
    "MessageTemplate",
    "RunStep",
    "SendingPolicy",
    "Suppression",
    "TemplateContent",
]
