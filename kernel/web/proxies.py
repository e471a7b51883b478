"""Which address a request comes from, and over which scheme, behind trusted proxies only.

The socket's peer is the client unless it is one of ``[crm] trusted_proxies`` (addresses or
networks, none by default). Only then are ``X-Forwarded-For`` and ``X-Forwarded-Proto`` read:
the client is the right-most address in ``X-Forwarded-For`` that is not itself a trusted proxy
(the left part of that header is whatever the client chose to send), and the scheme is the
proxy's ``X-Forwarded-Proto`` when it is ``http`` or ``https``. Anything that is not an IP
address is ignored. ``crm serve`` turns uvicorn's own handling of these headers off, so this
middleware is the one place that decides, whatever server runs the app.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def address(text: Any) -> Address | None:
    """An IP address from a peer or header value (``1.2.3.4``, ``::1``, ``[::1]:443``, ``1.2.3.4:80``), or ``None``."""
    if not isinstance(text, str) or not text or len(text) > 64:
        return None
    value = text.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        found = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


class TrustedProxies:
    """ASGI middleware: ``scope["client"]`` and ``scope["scheme"]`` as the trusted proxies tell them."""

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        """``trusted``: addresses or networks, as ``crm.toml`` checked them (:mod:`kernel.settings`)."""
        self.app = app
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(entry) for entry in trusted)

    def trusted(self, found: Address | None) -> bool:
        return found is not None and any(found in network for network in self.networks)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and self.networks:
            peer = scope.get("client")
            if peer and self.trusted(address(peer[0])):
                scope = {**scope, **self._forwarded(scope, peer)}
        await self.app(scope, receive, send)

    def _forwarded(self, scope: dict[str, Any], peer: Any) -> dict[str, Any]:
        headers = {}
        for name, value in scope.get("headers", ()):
            if name in (b"x-forwarded-for", b"x-forwarded-proto"):
                joined = headers.get(name, "")
                headers[name] = f"{joined},{value.decode('latin-1')}" if joined else value.decode("latin-1")
        changes: dict[str, Any] = {}
        client = str(address(peer[0]))
        for hop in reversed(headers.get(b"x-forwarded-for", "").split(",")[-20:]):
            found = address(hop)
            if found is None:
                break
            client = str(found)
            if not self.trusted(found):
                break
        changes["client"] = (client, 0)
        proto = headers.get(b"x-forwarded-proto", "").split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        return changes
