"""The ``[kite]`` section of ``orderdesk.toml``, validated before anything connects.

Secrets are not options: the access token and the api_secret come from the secret store
(``kite.access_token``, ``kite.api_secret``). A secret pasted into the config file is refused
with a message that says where it belongs, rather than silently used.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orderdesk.brokers.kite.ratelimit import RateLimits
from orderdesk.errors import ConfigError

SECTION = "kite"
ENV_PREFIX = "ORDERDESK_KITE__"
"""How the desk's config names this section's keys in the environment."""
KITE_API_ROOT = "https://api.kite.trade"
KITE_LOGIN_ROOT = "https://kite.zerodha.com"
ACCESS_TOKEN_SECRET = "kite.access_token"  # noqa: S105 - the store's key name, not a secret
API_SECRET_SECRET = "kite.api_secret"  # noqa: S105 - the store's key name, not a secret
_SECRET_OPTIONS = frozenset({"access_token", "api_secret", "request_token", "refresh_token"})


class KiteConfig(BaseModel):
    """Everything the Kite adapter reads from its config section; defaults follow KITE_API.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: str = Field(min_length=1)
    root: str = KITE_API_ROOT
    login_root: str | None = None
    """Where the login page is served; by default Kite's own host, or ``root`` when that is not
    Kite's API (the simulator serves its login page on its REST root)."""
    ws_url: str = "wss://ws.kite.trade"
    timeout_seconds: float = Field(default=7.0, gt=0, le=300)
    """Whole-call limit for every REST request (Kite's own client uses 7 s)."""
    connect_timeout_seconds: float = Field(default=3.0, gt=0, le=300)
    market_protection: Decimal = Decimal(-1)
    """Sent with MARKET and SL-M orders: -1 = Kite chooses, else a percentage in (0, 100]."""
    read_attempts: int = Field(default=4, ge=1, le=20)
    """Attempts for a read (GET) that failed transiently; writes are never retried blindly."""
    rate_limit_requeues: int = Field(default=8, ge=0, le=100)
    """How often a 429 is backed off and re-sent before the caller sees ``BrokerRateLimited``
    (a placement, modify or cancel: once at most, then the desk answers)."""
    rate_limit_backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    """First hold of an endpoint class after a 429; doubles per further 429, capped at 30 s (a
    placement, modify or cancel is held once, then the desk answers: it sends a placement
    again itself, and a modify or cancel is answered "try again")."""
    rate_limits_enabled: bool = True
    quote_per_second: int = Field(default=1, ge=1)
    historical_per_second: int = Field(default=3, ge=1)
    orders_per_second: int = Field(default=10, ge=1)
    others_per_second: int = Field(default=10, ge=1)
    orders_per_minute: int = Field(default=400, ge=1)
    orders_per_day: int = Field(default=5000, ge=1)
    modifications_per_order: int = Field(default=25, ge=1)
    stream: Literal["ticker", "poll"] = "ticker"
    """How ``events()`` learns about orders: Kite's WebSocket ticker (with a REST gap-fill on
    every connection) or polling the order book over REST."""
    poll_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    """Order-book poll period of ``events()`` when ``stream = "poll"``."""
    source_address: str | None = None
    """The local address every connection to Kite leaves from (REST and the ticker). Since 1
    April 2026 Kite accepts place, modify and cancel only from an IP registered with the app,
    so on a machine with several addresses this pins the registered one. None: the system's
    choice (on ``ip_family``)."""
    ip_family: Literal["ipv4", "ipv6", "any"] = "ipv4"
    """The address family connections to Kite use. IPv4 by default: a dual-stack host may
    otherwise leave on IPv6 while the app registered its IPv4 address (or the reverse), and
    every order would be refused (KITE_API.md §14.2)."""
    algo_id: str | None = None
    """The exchange algo id Zerodha registered for this app's strategy: the desk sends it with
    every placement (Kite's ``algo_id``) and records it in the order's events; a strategy's
    own ``[strategies.<name>] algo_id`` wins. None: sent with none (under 10 orders a second
    the broker applies a generic one)."""
    postback_secret: str = API_SECRET_SECRET
    """The secret-store *name* of the key that verifies postback checksums (Kite signs them
    with the api_secret), not the secret itself."""

    @field_validator("root", "ws_url", "login_root")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "://" not in value:
            raise ValueError("must be an absolute URL such as https://api.kite.trade")
        return value.rstrip("/")

    @field_validator("source_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address of this machine") from None

    @field_validator("algo_id")
    @classmethod
    def _algo_id(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty (leave it out when no algo id is registered)")
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _family_fits(self) -> Self:
        if self.ip_family == "any":
            return self
        wanted = 6 if self.ip_family == "ipv6" else 4
        # An address written as such (the source, or a root given as an IP) of the other
        # family could never be used: refused here rather than failing every call.
        named = [("source_address", self.source_address)]
        named += [(key, urlsplit(getattr(self, key)).hostname) for key in ("root", "ws_url")]
        for key, host in named:
            try:
                version = ipaddress.ip_address(host or "").version
            except ValueError:
                continue  # a host name: resolved on the pinned family when connecting
            if version != wanted:
                raise ValueError(
                    f"{key} {host} is IPv{version} but ip_family is "
                    f'"{self.ip_family}"; make them agree (or ip_family = "any")'
                )
        return self

    def login_page_root(self) -> str:
        """The root of the login page (``/connect/login``)."""
        if self.login_root is not None:
            return self.login_root
        return KITE_LOGIN_ROOT if self.root == KITE_API_ROOT else self.root

    @field_validator("market_protection")
    @classmethod
    def _protection(cls, value: Decimal) -> Decimal:
        if value != -1 and not 0 < value <= 100:
            raise ValueError("must be -1 (automatic) or a percentage in (0, 100]")
        return value

    def rate_limits(self) -> RateLimits:
        return RateLimits(
            quote_per_second=self.quote_per_second,
            historical_per_second=self.historical_per_second,
            order_per_second=self.orders_per_second,
            other_per_second=self.others_per_second,
            orders_per_minute=self.orders_per_minute,
            orders_per_day=self.orders_per_day,
            modifications_per_order=self.modifications_per_order,
        )


def load_config(options: Mapping[str, Any]) -> KiteConfig:
    """Validate the ``[kite]`` options; a bad value raises :class:`ConfigError` naming the key."""
    for name in _SECRET_OPTIONS & set(options):
        raise ConfigError(
            f"{SECTION}.{name}: secrets do not belong in the config file; "
            f"store it as {SECTION}.{name} in the secret store"
        )
    try:
        return KiteConfig.model_validate(dict(options))
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            key = ".".join(str(part) for part in error["loc"]) or "(section)"
            if error["type"] == "extra_forbidden":
                reason = "unknown option"
            elif error["type"] == "missing":
                reason = f"missing; set {ENV_PREFIX}{key.upper()} or {SECTION}.{key}"
            else:
                reason = error["msg"]
            problems.append(f"{SECTION}.{key}: {reason}")
        raise ConfigError("; ".join(problems)) from None


__all__ = [
    "ACCESS_TOKEN_SECRET",
    "API_SECRET_SECRET",
    "KITE_API_ROOT",
    "KITE_LOGIN_ROOT",
    "KiteConfig",
    "load_config",
]
