"""Broker adapters, found through the entry-point group ``orderdesk.brokers``.

An adapter package registers a factory ``create_broker(options, context) -> Broker`` in its
``pyproject.toml``::

    [project.entry-points."orderdesk.brokers"]
    kite = "orderdesk.brokers.kite:create_broker"

``options`` is the adapter's own section of ``orderdesk.toml`` (e.g. ``[kite]``), which the
adapter validates itself; ``context`` carries what every adapter may need from the desk. The
core selects an adapter by the name in the config's ``broker`` key and never imports one.

An adapter whose sessions a person opens (Kite's daily browser login) also offers the
:class:`~orderdesk.ports.login.LoginFlow` capability: a factory named ``create_login_flow``
beside ``create_broker`` in the entry point's module, taking the same ``(options, context)``.
:func:`create_login_flow` finds it by the adapter's name, so ``orderdesk login`` works before
any broker runs and without importing the adapter; an adapter without it (``paper``) has no
login.

An adapter is someone else's code: what it raises that is not one of the desk's own errors
(:class:`~orderdesk.errors.OrderDeskError`) while it loads (:func:`create_broker`,
:func:`create_login_flow`), is built, or starts (the engine's ``OrderDesk.start``), becomes
:class:`AdapterFailed`, one line naming the adapter and the exception; the traceback goes to
the log at DEBUG. So does an entry point that names no factory, and a factory whose object is
not a :class:`~orderdesk.ports.broker.Broker` (``None``, or one lacking members, which are
named): refused where it is built, not when the engine first calls the missing member.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Protocol

from orderdesk.domain.calendar import TradingCalendar
from orderdesk.errors import AdapterFailed, ConfigError, OrderDeskError
from orderdesk.ports.broker import Broker
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.login import LoginFlow
from orderdesk.ports.secrets import SecretStore

ENTRY_POINT_GROUP = "orderdesk.brokers"
LOGIN_FLOW_FACTORY = "create_login_flow"
"""The name of an adapter's login factory, in the module its entry point names."""

log = logging.getLogger("orderdesk.brokers")
"""Stdlib, not structlog: the traceback of a failed adapter is DEBUG, and a command that has
not configured logging (``config check``) must stay silent about it."""


def _failed(adapter: str, error: Exception, stage: str = "start") -> AdapterFailed:
    log.debug("the broker adapter %r failed to %s", adapter, stage, exc_info=error)
    return AdapterFailed(adapter, error, stage=stage)


def _protocol_members(protocol: type) -> frozenset[str]:
    """The members ``isinstance`` looks for on a runtime-checkable protocol: its annotated
    attributes and its methods (``typing.get_protocol_members`` is Python 3.13's)."""
    names = set(protocol.__dict__) | set(protocol.__annotations__)
    return frozenset(name for name in names if not name.startswith("_"))


BROKER_MEMBERS = _protocol_members(Broker)
"""What an adapter's object must have: ``isinstance(x, Broker)`` says only whether it has them
all, not which it lacks."""


def _not_a_broker(built: object, factory: str) -> str | None:
    """Why ``built`` is no :class:`Broker` (None: it is one), naming what it lacks."""
    missing = sorted(name for name in BROKER_MEMBERS if not hasattr(built, name))
    if not missing:
        return None
    if len(missing) == len(BROKER_MEMBERS):
        what = "None" if built is None else f"an object of type {type(built).__name__}"
        return f"{factory} returned {what}, not a broker"
    return f"{factory} built a {type(built).__name__} lacking {', '.join(missing)}"


@dataclass(frozen=True, slots=True)
class BrokerContext:
    """What the desk hands every adapter."""

    secrets: SecretStore
    data_dir: Path
    clock: Clock = field(default_factory=SystemClock)
    calendar: TradingCalendar | None = None
    """The desk's trading days (None: it keeps none); a broker that plays the market itself
    (the paper broker) ends its days on them."""


class BrokerFactory(Protocol):
    def __call__(self, options: Mapping[str, Any], context: BrokerContext) -> Broker: ...


class LoginFlowFactory(Protocol):
    def __call__(self, options: Mapping[str, Any], context: BrokerContext) -> LoginFlow: ...


def available_brokers() -> list[str]:
    """Names of the installed adapters."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def _entry_point(name: str) -> EntryPoint:
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(available_brokers()) or "none installed"
        raise ConfigError(f"broker: no adapter named {name!r} (available: {known})")
    return matches[0]


def _loading(name: str, load: Callable[[], Any], what: str) -> Any:
    """``load()``'s object, which must be a callable (``what`` names it if it is not); what
    the import raises, or a non-callable, is :class:`AdapterFailed`."""
    try:
        loaded = load()
    except OrderDeskError:
        raise
    except Exception as exc:
        raise _failed(name, exc, "load") from exc
    if loaded is not None and not callable(loaded):
        error = TypeError(f"{what} is of type {type(loaded).__name__}, not a factory")
        raise _failed(name, error, "load")
    return loaded


def load_broker_factory(name: str) -> BrokerFactory:
    """The factory registered under ``name``; a clear :class:`ConfigError` if there is none,
    :class:`AdapterFailed` if its module fails to import or it names no callable."""
    entry = _entry_point(name)
    factory: BrokerFactory | None = _loading(name, entry.load, entry.value)
    if factory is None:
        raise _failed(name, TypeError(f"{entry.value} is None, not a factory"), "load")
    return factory


def load_login_flow_factory(name: str) -> LoginFlowFactory | None:
    """The login factory the adapter ``name`` offers, or ``None`` if it has no login.

    A :class:`ConfigError` if no adapter has that name; :class:`AdapterFailed` if its module
    fails to import (``orderdesk login`` said so in a traceback) or the name is no callable.
    """
    module_name = _entry_point(name).module

    def load() -> Any:
        return getattr(importlib.import_module(module_name), LOGIN_FLOW_FACTORY, None)

    factory: LoginFlowFactory | None = _loading(name, load, f"{module_name}:{LOGIN_FLOW_FACTORY}")
    return factory


def create_broker(name: str, options: Mapping[str, Any], context: BrokerContext) -> Broker:
    """Build the adapter that the config's ``broker`` key names.

    The desk's own errors pass as they are (a :class:`ConfigError` naming the bad option); any
    other exception of the adapter while it loads or is built is :class:`AdapterFailed`, and so
    is an object that is not a :class:`Broker`, naming the members it lacks: ``config check``
    passed one without ``cancel_order``, and each cancel then failed with AttributeError.
    """
    factory = load_broker_factory(name)
    try:
        broker = factory(options, context)
    except OrderDeskError:
        raise
    except Exception as exc:
        raise _failed(name, exc) from exc
    reason = _not_a_broker(broker, _entry_point(name).value)
    if reason is not None:
        raise _failed(name, TypeError(reason))
    return broker


def create_login_flow(
    name: str, options: Mapping[str, Any], context: BrokerContext
) -> LoginFlow | None:
    """The login of the adapter the config's ``broker`` key names; ``None`` if it has none.

    Nothing connects: the flow talks to the broker only when asked to open or end a session.
    What its factory raises that is not one of the desk's errors is :class:`AdapterFailed`.
    """
    factory = load_login_flow_factory(name)
    if factory is None:
        return None
    try:
        return factory(options, context)
    except OrderDeskError:
        raise
    except Exception as exc:
        raise _failed(name, exc) from exc


__all__ = [
    "BROKER_MEMBERS",
    "ENTRY_POINT_GROUP",
    "LOGIN_FLOW_FACTORY",
    "AdapterFailed",
    "BrokerContext",
    "BrokerFactory",
    "LoginFlowFactory",
    "available_brokers",
    "create_broker",
    "create_login_flow",
    "load_broker_factory",
    "load_login_flow_factory",
]
