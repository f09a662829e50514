"""Project-wide middleware."""

from django.conf import settings
from django.http import Http404
from django.urls import reverse

from config.clientip import address_in, client_ip


class AdminAllowListMiddleware:
    """Answer 404 for the admin to clients outside ``settings.ADMIN_ALLOWED_NETWORKS``.

    The client is the address config.clientip finds (through a trusted proxy, its X-Forwarded-For).
    A 404 rather than a 403, so the admin's address is not confirmed. No networks: no restriction,
    which ``check --deploy`` refuses in production (config/checks.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        networks = settings.ADMIN_ALLOWED_NETWORKS
        if networks and request.path.startswith(reverse("admin:index")):
            if not address_in(client_ip(request), networks):
                raise Http404
        return self.get_response(request)
