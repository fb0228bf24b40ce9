"""The Kite Connect adapter: REST client, live stream and the ``Broker`` the engine uses.

The entry point ``kite = "orderdesk.brokers.kite:create_broker"`` hands the ``[kite]`` config
section and the desk's context to :func:`create_broker`, which validates the options
(:class:`~orderdesk.brokers.kite.config.KiteConfig`; a bad value is a ``ConfigError`` naming
``kite.<key>``) and builds a :class:`KiteBroker`. Secrets come from ``context.secrets`` only.

Kite's sessions are opened by a person each morning, so the adapter also offers the
:class:`~orderdesk.ports.login.LoginFlow` capability: :func:`create_login_flow` builds a
:class:`~orderdesk.brokers.kite.auth.KiteLogin` from the same section, which the registry finds
beside ``create_broker`` (:func:`orderdesk.brokers.create_login_flow`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from orderdesk.brokers.kite.auth import KiteLogin
from orderdesk.brokers.kite.broker import KiteBroker
from orderdesk.brokers.kite.client import AutosliceResult, KiteRestClient, Positions, SliceOutcome
from orderdesk.brokers.kite.config import KiteConfig, load_config
from orderdesk.brokers.kite.http import ClientState, NoLimits
from orderdesk.brokers.kite.mapping import order_update_to_report
from orderdesk.brokers.kite.ratelimit import shared_limiter

if TYPE_CHECKING:
    from orderdesk.brokers import BrokerContext


def create_broker(options: Mapping[str, Any], context: BrokerContext) -> KiteBroker:
    """Build the Kite broker from its config section; nothing connects until ``start()``.

    The rate limiter is the process-wide one for the api_key (Kite counts per key and user),
    unless ``rate_limits_enabled = false``, e.g. against the simulator. The broker counts the
    daily placement cap's days on ``context.clock``, the desk's, once it starts.
    """
    config = load_config(options)
    limiter = (
        shared_limiter(config.api_key, config.rate_limits())
        if config.rate_limits_enabled
        else NoLimits()
    )
    return KiteBroker(config, context.secrets, limiter=limiter, clock=context.clock)


def create_login_flow(options: Mapping[str, Any], context: BrokerContext) -> KiteLogin:
    """Kite's browser login for the ``[kite]`` section; nothing connects until it is used.

    The login runs in its own short process (``orderdesk login``), so it takes no slot from the
    shared rate limiter: one exchange is far inside every limit.
    """
    return KiteLogin(load_config(options))


__all__ = [
    "AutosliceResult",
    "ClientState",
    "KiteBroker",
    "KiteConfig",
    "KiteLogin",
    "KiteRestClient",
    "Positions",
    "SliceOutcome",
    "create_broker",
    "create_login_flow",
    "order_update_to_report",
]
