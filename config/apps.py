"""Application configs of the project itself and of a third-party app shown in Chinese."""

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig

from config import checks  # noqa: F401  (registers the deployment checks)


class ProjectConfig(AppConfig):
    """The project's settings package as an app, so that its system checks (config/checks.py) run."""

    name = "config"
    verbose_name = "系统配置"


class AxesConfig(AxesAppConfig):
    """django-axes under a Chinese name in the admin (its models' and fields' names: locale/)."""

    verbose_name = "登录锁定"
