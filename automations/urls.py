from django.urls import include, path

from automations import views_consent, views_contact_panel, views_dryrun, webhooks
from automations import views_templates as templates

urlpatterns = [
    path(
        "contacts/<int:pk>/messaging/",
        views_contact_panel.contact_messaging_panel,
        name="contact_messaging_panel",
    ),
    path("u/<str:token>/", views_consent.preferences, name="preferences"),
    path(
        "u/<str:token>/one-click/",
        views_consent.unsubscribe_one_click,
        name="unsubscribe_one_click",
    ),
    path("webhooks/sendgrid/events/", webhooks.sendgrid_events, name="webhook_sendgrid_events"),
    path("webhooks/sendgrid/inbound/", webhooks.sendgrid_inbound, name="webhook_sendgrid_inbound"),
    path("webhooks/twilio/status/", webhooks.twilio_status, name="webhook_twilio_status"),
    path("webhooks/twilio/inbound/", webhooks.twilio_inbound, name="webhook_twilio_inbound"),
    path("", include("automations.urls_journeys")),
    path(
        "journeys/<int:pk>/dry-run/",
        views_dryrun.journey_dry_run_page,
        name="journey_dry_run",
    ),
    path("message-templates/", templates.template_list, name="templates"),
    path("message-templates/new/", templates.template_create, name="template_new"),
    path("message-templates/topics/", templates.topic_list, name="template_topics"),
    path("message-templates/sms-count/", templates.sms_count, name="template_sms_count"),
    path("message-templates/<int:pk>/", templates.template_edit, name="template_edit"),
    path(
        "message-templates/<int:pk>/preview/", templates.template_preview, name="template_preview"
    ),
    path(
        "message-templates/<int:pk>/test/", templates.template_test_send, name="template_test_send"
    ),
    path("", include("automations.urls_deliveries")),
    path("", include("automations.urls_engagement")),
    path("", include("automations.urls_webhooks")),
]
