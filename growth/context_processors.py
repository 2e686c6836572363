from django.http import HttpRequest

from growth import navigation as nav


def navigation(request: HttpRequest) -> dict[str, object]:
    """The menu of the signed-in user: only the sections their roles open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_groups": []}
    return {"nav_groups": nav.grouped(nav.sections_for(user))}
