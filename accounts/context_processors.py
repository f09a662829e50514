from django.urls import reverse

from accounts import policy
from accounts.models import Role
from registry.codes import full_code


def navigation(request):
    """The menu: each role sees only what it can use."""
    user = getattr(request, "user", None)
    if not policy._active(user):
        return {"nav_items": []}
    items = [("首页", reverse("home"))]
    if policy.record_prefixes(user):
        for slug, label in (("children", "留守儿童"), ("women", "留守妇女"), ("elders", "留守老人")):
            items.append((label, reverse("record_list", kwargs={"kind": slug})))
    if policy.record_prefixes(user):
        items.append(("摸底排查", reverse("campaign_list")))
    care = policy.care_prefixes(user)
    if care:
        # The board of the (first) region the user follows: a supervisor's is an assigned county.
        items.append(("关爱服务", reverse("care:board", kwargs={"code": full_code(care[0])})))
    if policy.has_role(user, Role.LIAISON):
        items.append(("转介办理", reverse("care:unit_referrals")))
    if policy.can_take_calls(user):
        items.append(("热线来电", reverse("care:hotline")))
    if policy.can_follow_supervision(user):
        items.append(("督导", reverse("inspection_list")))
    if policy.import_prefixes(user):
        items.append(("导入花名册", reverse("import_upload")))
    if policy.region_prefixes(user):
        items.append(("区划与进度", reverse("region_root")))
    if policy.can_read_audit_log(user):
        items.append(("审计日志", reverse("audit_list")))
    if policy.can_see_activations(user):
        items.append(("账号激活码", reverse("activation_list")))
    if policy.can_use_admin(user):
        items.append(("系统管理", reverse("admin:index")))
    return {"nav_items": items}
