"""Kite's static-IP rule (since 1 April 2026): order writes only from the app's registered IPs.

Place, modify and cancel from any other source address are refused with a permission refusal
whose message names the address the request came from (KITE_API.md §14.2: one user saw
``IP (2402:…) is not allowed``; Kite's exact ``error_type`` and HTTP status are unverified, so
the simulator answers the way the clients treat permission refusals: HTTP 403
``PermissionException``). Reads, the login and the WebSocket work from anywhere, as at Kite.

The check runs after authentication and before the order quotas and the order id are looked
at, so a refused request changes nothing and spends no order quota (the per-second request
rate, counted on arrival, still counts it, as Kite counts rejected requests).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable

from aiohttp import web

from orderdesk.sim.envelope import PermissionDenied

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address:
    """One IPv4 or IPv6 address (an IPv4-mapped IPv6 address is its IPv4 one)."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_allowed(texts: Iterable[str]) -> frozenset[Address]:
    """The addresses of ``--allowed-ips``; a ``ValueError`` names the first bad one."""
    allowed: set[Address] = set()
    for text in texts:
        try:
            allowed.add(parse_address(text))
        except ValueError:
            raise ValueError(f"{text.strip()!r} is not an IPv4 or IPv6 address") from None
    return frozenset(allowed)


def refusal(address: str) -> PermissionDenied:
    """What the simulator answers to an order write from ``address``."""
    return PermissionDenied(
        f"IP ({address}) is not allowed to place, modify or cancel orders: "
        "register it as a static IP of this app"
    )


class StaticIpRule:
    """The order-write gate: every address when ``allowed`` is None, else only those.

    It counts what it refused by kind of write (``GET /_sim/state`` shows it), so a test can
    prove from outside that a refused placement was not sent again.
    """

    def __init__(self, allowed: Iterable[str] | None) -> None:
        self.allowed = None if allowed is None else parse_allowed(allowed)
        self.refused: Counter[str] = Counter()

    def check(self, request: web.Request, write: str) -> None:
        """Raise the refusal unless ``request`` (a ``write``: place, modify or cancel) came
        from an allowed address."""
        if self.allowed is None:
            return
        remote = request.remote or ""
        try:
            address = parse_address(remote)
        except ValueError:
            address = None
        if address is None or address not in self.allowed:
            self.refused[write] += 1
            raise refusal(str(address) if address is not None else remote or "unknown")

    def state(self) -> dict[str, object]:
        """The allowed addresses (``None``: any) and the refusals so far."""
        allowed = None if self.allowed is None else sorted(str(a) for a in self.allowed)
        return {"allowed": allowed, "refused": dict(self.refused)}

    def reset(self) -> None:
        self.refused.clear()


__all__ = ["StaticIpRule", "parse_address", "parse_allowed", "refusal"]
