"""System checks of the deployment's own settings, run by ``manage.py check --deploy``."""

from django.conf import settings
from django.core.checks import Error, Tags, register

ADMIN_NETWORKS_MISSING = Error(
    "未设置 ADMIN_ALLOWED_NETWORKS：生产环境的管理后台（/admin/）将对任何地址开放。",
    hint="设置环境变量 ADMIN_ALLOWED_NETWORKS 为允许访问管理后台的网段（CIDR，逗号分隔），"
    "如 ADMIN_ALLOWED_NETWORKS=10.8.0.0/16；反向代理之后还须设置 TRUSTED_PROXIES。",
    id="config.E001",
)


@register(Tags.security, deploy=True)
def admin_allow_list_check(app_configs, **kwargs):
    """An empty admin allow-list means "no limit": refused in production, not silently accepted."""
    return [] if settings.ADMIN_ALLOWED_NETWORKS else [ADMIN_NETWORKS_MISSING]
