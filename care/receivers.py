"""The care app listens to the registry (registry/signals.py): children written there have their
ChildCare row recomputed in the same transaction (care.services.care_refresh)."""

from django.dispatch import receiver

from care.services import care_refresh
from registry.signals import children_written


@receiver(children_written, dispatch_uid="care_refresh_children_written")
def _children_written(sender, pks, **kwargs):
    care_refresh(pks)
