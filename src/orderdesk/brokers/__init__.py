"""Broker adapters, found through the entry-point group ``orderdesk.brokers``.

An adapter package registers a factory ``create_broker(options, context) -> Broker`` in its
``pyproject.toml``::

    [project.entry-points."orderdesk.brokers"]
    kite = "orderdesk.brokers.kite:create_broker"

``options`` is the adapter's own section of ``orderdesk.toml`` (e.g. ``[kite]``), which the
adapter validates itself; ``context`` carries what every adapter may need from the desk. The
core selects an adapter by the name in the config's ``broker`` key and never imports one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from orderdesk.errors import ConfigError
from orderdesk.ports.broker import Broker
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.secrets import SecretStore

ENTRY_POINT_GROUP = "orderdesk.brokers"


@dataclass(frozen=True, slots=True)
class BrokerContext:
    """What the desk hands every adapter."""

    secrets: SecretStore
    data_dir: Path
    clock: Clock = field(default_factory=SystemClock)


class BrokerFactory(Protocol):
    def __call__(self, options: Mapping[str, Any], context: BrokerContext) -> Broker: ...


def available_brokers() -> list[str]:
    """Names of the installed adapters."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def load_broker_factory(name: str) -> BrokerFactory:
    """The factory registered under ``name``; a clear :class:`ConfigError` if there is none."""
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(available_brokers()) or "none installed"
        raise ConfigError(f"broker: no adapter named {name!r} (available: {known})")
    factory: BrokerFactory = matches[0].load()
    return factory


def create_broker(name: str, options: Mapping[str, Any], context: BrokerContext) -> Broker:
    """Build the adapter that the config's ``broker`` key names."""
    return load_broker_factory(name)(options, context)


__all__ = [
    "ENTRY_POINT_GROUP",
    "BrokerContext",
    "BrokerFactory",
    "available_brokers",
    "create_broker",
    "load_broker_factory",
]
