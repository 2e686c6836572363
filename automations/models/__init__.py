"""Tables of automations: deliveries and what decides whether and when they go out.
Journeys, templates, surveys and discount codes are added by the parts that build them."""

from automations.models.codes import DiscountCampaign, DiscountCode
from automations.models.delivery import Delivery, SendingPolicy, Suppression
from automations.models.inbox import TeamTask
from automations.models.journeys import Journey, JourneyRun, JourneyVersion, RunStep
from automations.models.surveys import Survey, SurveyAnswer
from automations.models.templates import MessageTemplate, TemplateContent
from automations.models.topics import Topic, TopicOptOut
from automations.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Delivery",
    "DiscountCampaign",
    "DiscountCode",
    "Journey",
    "JourneyRun",
    "JourneyVersion",
    "MessageTemplate",
    "RunStep",
    "SendingPolicy",
    "Suppression",
    "Survey",
    "SurveyAnswer",
    "TeamTask",
    "TemplateContent",
    "Topic",
    "TopicOptOut",
    "WebhookDelivery",
    "WebhookSubscription",
]
