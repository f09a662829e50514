"""Project-wide middleware."""

import ipaddress

from django.conf import settings
from django.http import Http404
from django.urls import reverse


class AdminAllowListMiddleware:
    """Answer 404 for the admin to clients outside ``settings.ADMIN_ALLOWED_NETWORKS``.

    A 404 rather than a 403, so the admin's address is not confirmed. No networks: no restriction.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        networks = settings.ADMIN_ALLOWED_NETWORKS
        if networks and request.path.startswith(reverse("admin:index")):
            if not _address_in(request.META.get("REMOTE_ADDR", ""), networks):
                raise Http404
        return self.get_response(request)


def _address_in(address, networks):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
