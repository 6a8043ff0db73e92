"""The client's IP address as rate limits see it: ``X-Forwarded-For`` counts only when a trusted proxy sent it.

``TRUSTED_PROXIES`` (settings, from the environment) lists the CIDRs of the reverse proxies in front of the web
process (default none: the peer address is the client). When the peer (``REMOTE_ADDR``) is one of them, the
``X-Forwarded-For`` chain is read from the right, skipping trusted hops; the first address that is not a trusted
proxy is the client. Entries a client wrote itself sit to the left of the one its proxy appended, so a forged
header changes nothing; an unparsable hop stops the walk at the last trusted address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES must be IP addresses or CIDRs: {exc}") from None


def trusted_networks() -> tuple[IpNetwork, ...]:
    """The parsed ``TRUSTED_PROXIES`` setting (read on each call, parsed once per value)."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", None) or ()))


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: tuple[IpNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(request) -> str:
    """The client address of a Django/DRF request (see the module docstring); ``"unknown"`` without a peer."""
    meta = getattr(request, "META", {})
    peer = _parse(str(meta.get("REMOTE_ADDR") or ""))
    if peer is None:
        return "unknown"
    networks = trusted_networks()
    if not networks or not _trusted(peer, networks):
        return str(peer)
    client = peer
    for hop in reversed(str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",")):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client)
