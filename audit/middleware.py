"""Remembers the request being served, so that an event written deep in a service function
(which takes no request) still knows the client's address."""

from contextvars import ContextVar

current_request = ContextVar("audit_current_request", default=None)


class AuditRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
