"""The client's address, the one answer the admin allow-list, the audit log and django-axes share.

Behind the reverse proxy REMOTE_ADDR is the proxy. The proxy's X-Forwarded-For header is believed
only when the request comes from a proxy listed in ``settings.TRUSTED_PROXIES`` (CIDRs): then the
client is the right-most address in the header that is not itself a trusted proxy — each proxy
appends the address it was connected from, so everything left of that is what the client wrote.
From anywhere else the header is the client's own claim and is ignored.

Written here rather than taken from django-ipware (what django-axes would use) or django-xff:
ipware matches its trusted proxies by string prefix against the header's own entries and never
asks whether REMOTE_ADDR is a proxy, and django-xff trusts a number of hops, not addresses; both
would let a client that reaches the server directly choose its address (tests/test_client_address.py).
"""

import ipaddress

from django.conf import settings


def parse_address(text):
    """``text`` as an address (an IPv4-mapped IPv6 address as its IPv4), or None if it is none."""
    try:
        ip = ipaddress.ip_address(str(text or "").strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def address_in(address, networks):
    """Whether ``address`` (text or an address) lies in one of ``networks``."""
    ip = parse_address(address)
    return ip is not None and any(ip in network for network in networks)


def client_ip(request):
    """The client's address as text, or None (no request, or no usable address)."""
    if request is None:
        return None
    remote = parse_address(request.META.get("REMOTE_ADDR"))
    proxies = settings.TRUSTED_PROXIES
    if remote is None or not address_in(remote, proxies):
        return str(remote) if remote is not None else None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",")):
        hop = parse_address(entry)
        if hop is None:
            # A malformed entry: whatever is left of it cannot be placed, so the last trusted
            # hop is the best answer.
            break
        if not address_in(hop, proxies):
            return str(hop)
        remote = hop
    return str(remote)
