"""Who is asking: the client's address, and the network it counts against.

The app takes the client's address from `X-Forwarded-For` only when the connection comes
from a proxy it trusts (`LOTSEN_TRUSTED_PROXIES`, addresses or networks; default the
loopback addresses, where nginx runs in the production shape): `proxy_headers` is the
app's outermost middleware, uvicorn's proxy-headers middleware with that list, and the run script
starts uvicorn with `--no-proxy-headers` so that only this one decides. A header from
anyone else is ignored, so nobody can pick the address they are counted under.

Limits count per network, not per exact address: one IPv6 subscriber gets a /64 (or
more) and can rotate through its addresses at will, so an IPv6 address counts as its /64;
an IPv4 address (also written IPv4-mapped in IPv6) counts as itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

UNKNOWN = "unknown"
IPV6_NETWORK_PREFIX = 64


def proxy_headers(trusted_proxies: list[str]) -> Middleware:
    """The middleware that makes the app see the client address a trusted proxy forwarded
    (else the peer's own)."""
    return Middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)


def client_ip(connection: HTTPConnection) -> str:
    """The client's address as the app sees it (after a trusted proxy's header)."""
    return connection.client.host if connection.client and connection.client.host else UNKNOWN


def network_key(address: str) -> str:
    """What limits count `address` under: an IPv4 address itself, an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address or UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        network = ipaddress.IPv6Network((ip, IPV6_NETWORK_PREFIX), strict=False)
        return str(network)
    return str(ip)


def client_network(connection: HTTPConnection) -> str:
    return network_key(client_ip(connection))


def address_pseudonym(address: str, secret: str) -> str:
    """A keyed hash of the address's network, for what is stored: the same network gives
    the same value (so attempts can be counted), but the address cannot be read back."""
    digest = hmac.new(secret.encode(), network_key(address).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def client_pseudonym(connection: HTTPConnection, secret: str) -> str:
    """The pseudonym of the network a request came from, as stored with its message."""
    return address_pseudonym(client_ip(connection), secret)


def telegram_user_pseudonym(user_id: int, secret: str) -> str:
    """On Telegram the app never sees an address: the user id counts as the network (a new
    chat of the same user, after deleting the old one, is the same "address")."""
    return address_pseudonym(f"telegram:{user_id}", secret)
