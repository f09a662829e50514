"""What the registry announces to the apps above it, which it must not import (ARCHITECTURE.md).

``children_written`` is sent by the registry's write services (registry/records.py), inside their
transaction, with ``pks``: the children just created, changed, taken out or brought back. The
care app keeps each child's level and visit clock from it (care/receivers.py). A receiver does
its work through its own app's service; no rule lives in a receiver.
"""

from django.dispatch import Signal

children_written = Signal()
