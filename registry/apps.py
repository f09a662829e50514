from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "登记台账"

    def ready(self):
        from django.db import models

        from registry.bulk import AnyOf

        models.CharField.register_lookup(AnyOf)  # field__any_of=[…]: see registry.bulk
