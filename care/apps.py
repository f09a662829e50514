from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "care"
    verbose_name = "关爱服务"

    def ready(self):
        # The registry announces which children it wrote (registry/signals.py); care keeps each
        # child's level and visit clock in step (care/services.py: care_refresh).
        from care import receivers  # noqa: F401
