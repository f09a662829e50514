"""The care app listens to the registry (registry/signals.py): children written there have their
ChildCare row recomputed in the same transaction (care.services.care_refresh), and a child whose
record now says 无人监护 gets a case opened by the system (care.cases.cases_open_for_unguarded)."""

from django.dispatch import receiver

from care.cases import cases_open_for_unguarded
from care.services import care_refresh
from registry.signals import children_written


@receiver(children_written, dispatch_uid="care_refresh_children_written")
def _children_written(sender, pks, **kwargs):
    care_refresh(pks)
    cases_open_for_unguarded(pks)
