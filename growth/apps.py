from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrowthConfig(AppConfig):
    name = "growth"
    verbose_name = _("Growth")

    def ready(self) -> None:
        from growth import navigation, receivers  # noqa: F401 (connects the audit receivers)
        from growth.roles import Capability

        navigation.register(
            navigation.Section(
                key="users",
                label=_("Users"),
                url_name="users",
                capability=Capability.MANAGE_USERS,
                group=navigation.Group.ADMIN,
                order=900,
                what=_("Everyone who signs in to Growth, their roles and whether they are active."),
                how=_("Create a user, give them one or more roles; deactivate people who leave."),
            ),
            navigation.Section(
                key="api_keys",
                label=_("API keys"),
                url_name="api_keys",
                capability=Capability.MANAGE_SOURCES,
                group=navigation.Group.ADMIN,
                order=905,
                what=_("Keys that let other systems use Growth's REST API, each with its scopes."),
                how=_("Create a key, copy it once, and send it in the Authorization header."),
            ),
            navigation.Section(
                key="system",
                label=_("System"),
                url_name="system",
                capability=Capability.VIEW_SYSTEM,
                group=navigation.Group.ADMIN,
                order=910,
                what=_("Health of the database, Redis, the Celery worker and the scheduler."),
                how=_("Nothing to set up: the worker and beat report in by themselves."),
            ),
            navigation.Section(
                key="audit",
                label=_("Audit log"),
                url_name="audit",
                capability=Capability.MANAGE_USERS,
                group=navigation.Group.ADMIN,
                order=905,
                what=_(
                    "Who signed in, changed roles, made API keys, exported or erased data and"
                    " rotated webhook secrets, with when and from which address."
                ),
                how=_("Nothing to set up: Growth records these events as they happen."),
            ),
        )
