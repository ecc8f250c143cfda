"""The client's address, as every limit that keys on it sees it.

Behind TRUSTED_PROXY_COUNT proxies (the TLS proxy of docs/deployment.md is
one), REMOTE_ADDR is the nearest proxy's address for every client; each proxy
appends the address it received the request from to X-Forwarded-For, so the
client is the entry that many places from the right. Entries further left were
written by the client itself and are never trusted. With no trusted proxy
(the default) X-Forwarded-For is ignored.

allauth (through paperhub.accounts.AccountAdapter) and django-ratelimit
(RATELIMIT_IP_META_KEY) both call `client_ip`, so the login limits and the
reaction limits see the same address.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _clean(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address of the client that sent `request` (REMOTE_ADDR when no proxy is trusted)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count > 0 and forwarded:
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        # Fewer hops than trusted proxies: the request did not come through them all; trust none of it.
        if len(hops) >= count:
            address = _clean(hops[-count])
            if address:
                return address
    return _clean(remote) or "0.0.0.0"
