from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        from growth import navigation, shipped
        from growth.roles import Capability

        # Connect domain-signal receivers and register the inbound handlers.
        # tasks_scoring and tasks_segments: their tasks, and their after-batch steps.
        from leads import receivers, tasks_scoring, tasks_segments  # noqa: F401
        from leads.demo.loader import register_demo_step
        from leads.ingest import handlers_segment, handlers_shop, tracking_batch  # noqa: F401
        from leads.services import lifecycle, qualification  # noqa: F401 (after-batch steps)

        register_demo_step()
        shipped.register(_shipped_texts())

        navigation.register(
            navigation.Section(
                key="imports",
                label=_("Contact imports"),
                url_name="imports",
                capability=Capability.MANAGE_SEGMENTS,
                also=Capability.MANAGE_DATA,
                group=navigation.Group.CUSTOMERS,
                order=110,
                what=_("CSV files of contacts you loaded, with their progress and row errors."),
                how=_("Upload a CSV, map its columns, and Growth loads it in the background."),
            ),
            navigation.Section(
                key="sources",
                label=_("Sources"),
                url_name="sources",
                capability=Capability.MANAGE_SOURCES,
                group=navigation.Group.ADMIN,
                order=920,
                what=_("Where data comes from: tracking keys, Shopify and WooCommerce stores."),
                how=_(
                    "Create a source, then paste its snippet or webhook URL and secret into your shop."
                ),
            ),
            navigation.Section(
                key="inbound",
                label=_("Inbound"),
                url_name="inbound",
                capability=Capability.MANAGE_SOURCES,
                group=navigation.Group.ADMIN,
                order=930,
                what=_("Every delivery your sources sent, raw, with its processing status."),
                how=_(
                    "Deliveries appear as soon as a source sends data; failed ones can be retried here."
                ),
            ),
            navigation.Section(
                key="contacts",
                label=_("Contacts"),
                url_name="contacts",
                capability=Capability.VIEW_CONTACTS,
                group=navigation.Group.CUSTOMERS,
                order=100,
                what=_(
                    "Every person your shop knows, one record each however they arrived, with their timeline, score and lifecycle stage."
                ),
                how=_(
                    "Contacts arrive when your shop sends tracking events or webhooks, or when you import a CSV; an admin sets up the sources."
                ),
            ),
            navigation.Section(
                key="my_contacts",
                label=_("My contacts"),
                url_name="my_contacts",
                capability=Capability.WORK_QUEUE,
                group=navigation.Group.SALES,
                order=15,
                what=_("The leads assigned to you, each with its timeline, score and stage."),
                how=_("Leads you work in the queue appear here."),
            ),
            navigation.Section(
                key="scoring",
                label=_("Scoring"),
                url_name="scoring",
                capability=Capability.MANAGE_SCORING,
                group=navigation.Group.MARKETING,
                order=300,
                what=_(
                    "The scoring rules and the shared MQL and SQL definitions that marketing and sales agree on."
                ),
                how=_(
                    "Growth ships default rules from the playbook; marketers and sales managers edit them here together."
                ),
            ),
            navigation.Section(
                key="segments",
                label=_("Segments"),
                url_name="segments",
                capability=Capability.MANAGE_SEGMENTS,
                group=navigation.Group.MARKETING,
                order=310,
                what=_(
                    "Dynamic groups of contacts and buyer personas, kept current as data arrives."
                ),
                how=_(
                    "Create a segment from rules over contact properties and behaviour; its members update by themselves."
                ),
            ),
            navigation.Section(
                key="lead_quality",
                label=_("Lead quality"),
                url_name="lead_quality",
                capability=Capability.MANAGE_SCORING,
                group=navigation.Group.MARKETING,
                order=305,
                what=_(
                    "How good the leads are, as the reps judge them, and how they convert, by source, campaign and persona; and what each scoring rule predicts."
                ),
                how=_(
                    "Reps mark leads good or bad on the contact page and in the queue; conversion comes from the stage history."
                ),
            ),
        )


def _shipped_texts() -> list[str]:
    """What leads ships and the demo loads, stored in English and shown in the reader's
    language while nobody renamed it (growth/shipped.py)."""
    from leads.demo.sources import DEMO_SOURCE_NAMES
    from leads.services.qualification import DEFAULT_DEFINITIONS
    from leads.services.scoring import DEFAULT_MODEL, DEFAULT_RULES
    from leads.services.segments import RFM_SEGMENTS

    return [
        *(d[field] for d in DEFAULT_DEFINITIONS for field in ("name", "description")),
        DEFAULT_MODEL["name"],
        DEFAULT_MODEL["description"],
        *(rule["name"] for rule in DEFAULT_RULES),
        *(text for _key, name, description in RFM_SEGMENTS for text in (name, description)),
        *DEMO_SOURCE_NAMES,
    ]
