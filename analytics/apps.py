from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from analytics.demo import register_demo_step
        from growth import navigation
        from growth.roles import Capability

        register_demo_step()
        from analytics.demo import MONTHLY_COSTS
        from growth import shipped

        shipped.register(description for _kind, description, _channel, _amount in MONTHLY_COSTS)

        navigation.register(
            navigation.Section(
                key="dashboards",
                label=_("Dashboards"),
                url_name="dashboards",
                capability=Capability.VIEW_DASHBOARDS,
                group=navigation.Group.INSIGHTS,
                order=400,
                what=_("CAC, CLV, ROAS, conversion by source, time to purchase and both funnels."),
                how=_(
                    "Figures appear once orders arrive from your shop; import ad spend for CAC and ROAS."
                ),
            ),
            navigation.Section(
                key="ad_spend",
                label=_("Ad spend"),
                url_name="ad_spend",
                capability=Capability.MANAGE_AD_SPEND,
                group=navigation.Group.INSIGHTS,
                order=410,
                what=_("What each channel and campaign cost, per day."),
                how=_("Upload a Google Ads or Meta Ads export, or send spend through the API."),
            ),
        )
