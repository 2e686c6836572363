from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CadencesConfig(AppConfig):
    name = "cadences"
    verbose_name = _("Cadences")

    def ready(self) -> None:
        from cadences import receivers  # noqa: F401 (connects the signal receivers)
        from cadences.demo import register_demo_step
        from growth import navigation
        from leads import panels as contact_panels

        register_demo_step()
        from cadences.demo import DEMO_TEAM
        from cadences.services.cadences import shipped_texts
        from growth import shipped

        shipped.register([*shipped_texts(), DEMO_TEAM])
        from cadences.selectors_queue import rep_contact_ids, rep_holds_contact
        from leads import access as contact_access

        contact_access.register("rep_enrollments", rep_holds_contact, rep_contact_ids)
        from cadences.models import Touch
        from leads import timeline

        timeline.register(
            timeline.TimelineSource(
                kind="touches",
                label=_("Sales touches"),
                rows=lambda contact_id: Touch.objects.filter(contact_id=contact_id).select_related(
                    "rep__user"
                ),
                at_field="at",
                template="cadences/_timeline_touch.html",
            )
        )
        contact_panels.register(
            contact_panels.Panel(
                "contact_sales_panel", _("Loading cadences and touches…"), order=15
            )
        )
        from growth.roles import Capability

        navigation.register(
            navigation.Section(
                key="queue",
                label=_("Queue"),
                url_name="queue",
                capability=Capability.WORK_QUEUE,
                group=navigation.Group.SALES,
                order=10,
                what=_("The one next lead to work and the touch to make, newest MQLs first."),
                how=_(
                    "Leads enter the queue by themselves the moment they become MQLs and are assigned to you."
                ),
            ),
            navigation.Section(
                key="cadences",
                label=_("Cadences"),
                url_name="cadences",
                capability=Capability.MANAGE_CADENCES,
                group=navigation.Group.SALES,
                order=20,
                what=_(
                    "Timed sequences of calls, e-mails, SMS and social touches that every MQL enters at once."
                ),
                how=_(
                    "Start from a shipped cadence (7 touches in 7 days, 9 in 18, 18 in 35) and assign reps."
                ),
            ),
            navigation.Section(
                key="team",
                label=_("Team"),
                url_name="team",
                capability=Capability.VIEW_TEAM,
                group=navigation.Group.SALES,
                order=30,
                what=_("Speed to lead, SLA hits and each rep's activity."),
                how=_("Fills in as reps work the queue."),
            ),
        )
