from django.urls import reverse

from accounts import policy


def navigation(request):
    """The menu: each role sees only what it can use."""
    user = getattr(request, "user", None)
    if not policy._active(user):
        return {"nav_items": []}
    items = [("首页", reverse("home"))]
    if policy.region_prefixes(user):
        items.append(("区划与进度", reverse("region_root")))
    if policy.can_manage_accounts(user):
        items.append(("系统管理", reverse("admin:index")))
    return {"nav_items": items}
