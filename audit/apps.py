from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "审计"

    def ready(self):
        # Login, logout and failed logins are only told through Django's and django-axes's signals.
        from audit import signals  # noqa: F401
