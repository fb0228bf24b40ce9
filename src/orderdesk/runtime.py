"""The composition root: build the whole desk from :class:`~orderdesk.config.Settings`.

This is the one place that knows every concrete class — the SQL store, the broker adapter
chosen by name, apprise, the FastAPI app — and wires them behind the engine's ports.
``orderdesk run`` and ``orderdesk demo`` both go through :func:`open_runtime`; the Telegram bot
(``[telegram]``) runs beside the API, over the same desk operations.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import structlog

from orderdesk.api.alert_feed import AlertFeed
from orderdesk.api.app import create_app
from orderdesk.api.server import (
    STOP_GRACE_SECONDS,
    ApiServer,
    check_bind,
    check_port,
    serve_api,
)
from orderdesk.api_token import load_or_create_token
from orderdesk.approvals import (
    ApprovalQueue,
    NotApproved,
    PendingSignal,
    decisions_in,
    parks_in,
)
from orderdesk.brokers import BrokerContext, create_broker
from orderdesk.config import (
    AlertSettings,
    EngineSettings,
    ExitSettings,
    RiskSettings,
    Settings,
    TradingDaySettings,
)
from orderdesk.daily_backups import StorageProbe, running_backups
from orderdesk.desk_address import announce
from orderdesk.domain.errors import ValidationError
from orderdesk.domain.signal import Signal, reserved_strategy
from orderdesk.domain.values import Exchange
from orderdesk.engine.alerts import LoggingNotifier
from orderdesk.engine.algo_ids import AlgoIds
from orderdesk.engine.config import (
    NSE_FREEZE_QUANTITIES,
    DayRules,
    DeskConfig,
    ExitPolicy,
    LossLimitAction,
    Slicing,
)
from orderdesk.engine.desk import OrderDesk
from orderdesk.engine.handle import OrderHandle
from orderdesk.engine.risk import RiskLimits
from orderdesk.heap import settle_after_start
from orderdesk.notify.apprise_notifier import AppriseNotifier, AppriseOptions
from orderdesk.notify.fanout import FanoutNotifier
from orderdesk.ports.broker import Broker, WebhookSource
from orderdesk.ports.clock import Clock, SystemClock
from orderdesk.ports.notifier import Notifier, Severity
from orderdesk.ports.preflight import OrderLimits, OrderLimitsSource
from orderdesk.ports.secrets import SecretStore
from orderdesk.secrets import SECRETS_FILE_NAME, default_secret_store
from orderdesk.sim_time import SimulatorTime, simulator_root
from orderdesk.store import AsyncEventWriter, SqlEventStore
from orderdesk.store.desk_lock import desk_holds, exclusive_desk
from orderdesk.store.location import make_private_dir
from orderdesk.telegram import running_bot

log = structlog.get_logger("orderdesk.runtime")

STOP_MARGIN_SECONDS = 3.0
"""Beyond the broker's request timeout, for the log's writes around its answer."""


@runtime_checkable
class _BoundedRequests(Protocol):
    """A broker whose every request ends within ``request_timeout`` seconds (Kite's
    ``[kite] timeout_seconds``)."""

    @property
    def request_timeout(self) -> float: ...


def _stop_grace(broker: Broker) -> float:
    """How long a stopping API lets a signal, modify or cancel in flight finish: each waits on
    one broker request, so its timeout and a margin (a broker that names none: the server's
    default, which covers Kite's default timeout)."""
    if isinstance(broker, _BoundedRequests):
        return broker.request_timeout + STOP_MARGIN_SECONDS
    return STOP_GRACE_SECONDS


def risk_limits(risk: RiskSettings) -> RiskLimits:
    """``[risk]`` (or a strategy's own) as the engine's limits; its exchanges were checked
    when the config was read (``RiskSettings``)."""
    exchanges = (
        frozenset(Exchange(e.upper()) for e in risk.allowed_exchanges)
        if risk.allowed_exchanges is not None
        else None
    )
    return RiskLimits(
        max_quantity=risk.max_quantity,
        max_order_value=risk.max_order_value,
        allowed_exchanges=exchanges,
        allowed_symbols=frozenset(risk.allowed_symbols) if risk.allowed_symbols else None,
        blocked_symbols=frozenset(risk.blocked_symbols),
        max_open_orders=risk.max_open_orders,
        daily_loss_limit=risk.daily_loss_limit,
        price_band_percent=risk.price_band_percent,
        check_margin=risk.check_margin,
        max_orders_per_minute=risk.orders_per_minute_per_strategy,
    )


def order_limits(broker: Broker) -> OrderLimits:
    """The order limits the health page shows the order rate against: the broker's own
    (Kite's ``[kite] orders_*``), else Kite's published ones (the paper broker keeps none: a
    strategy rehearsed on it is shown against what Kite allows)."""
    return broker.order_limits() if isinstance(broker, OrderLimitsSource) else OrderLimits()


def algo_ids(settings: Settings) -> AlgoIds:
    """The broker section's ``algo_id`` and each ``[strategies.<name>] algo_id``."""
    default, own = settings.algo_ids()
    return AlgoIds(default=default, by_strategy=own)


def strategy_limits(settings: Settings) -> dict[str, RiskLimits]:
    """Each ``[strategies.<name>.risk]`` as that strategy's own limits."""
    return {
        name: risk_limits(strategy.risk)
        for name, strategy in settings.strategies.items()
        if strategy.risk is not None
    }


def desk_config(
    engine: EngineSettings,
    days: TradingDaySettings | None = None,
    risk: RiskSettings | None = None,
    exits: ExitSettings | None = None,
) -> DeskConfig:
    """The engine's configuration from ``[engine]``, ``[trading_day]``, ``[risk]``, ``[exit]``."""
    exits = exits or ExitSettings()
    return DeskConfig(
        slicing=Slicing(engine.slicing),
        exit=ExitPolicy(
            reprice_after=exits.reprice_after_seconds,
            max_reprices=exits.max_reprices,
            band_percent=exits.band_percent,
        ),
        on_loss_limit=LossLimitAction(risk.on_daily_loss if risk else "alert"),
        max_modifications=engine.max_modifications,
        poll_interval=engine.poll_interval_seconds,
        reconcile_interval=engine.reconcile_interval_seconds,
        trigger_interval=engine.trigger_interval_seconds,
        late_order_window=engine.late_order_window_seconds,
        resend_within=engine.resend_within_seconds,
        freeze_quantities={**NSE_FREEZE_QUANTITIES, **engine.freeze_quantities},
        days=days.rules() if days is not None and days.enabled else None,
    )


def _warn_uncovered_year(rules: DayRules | None, clock: Clock) -> None:
    """Say so when the holiday list does not cover this year: an unknown holiday looks like a
    trading day, and the desk would wait for a session and a market that never come."""
    if rules is None or rules.holiday_years is None:
        return
    year = clock.now().year
    if year not in rules.holiday_years:
        log.warning(
            "trading_day.holidays_missing",
            year=year,
            advice="add this year's exchange holidays: [trading_day] holidays_file or holidays",
        )


def _announced(
    settings: Settings, api: ApiServer | None
) -> contextlib.AbstractContextManager[object]:
    """Tell clients of this config dir where the API listens (its port may be the system's)."""
    if api is None:
        return contextlib.nullcontext()
    return announce(settings.config_dir, api.url)


@dataclass(slots=True)
class Runtime:
    """Everything a running desk is made of."""

    settings: Settings
    desk: OrderDesk
    broker: Broker
    store: SqlEventStore
    alerts: AlertFeed
    approvals: ApprovalQueue
    token: str
    api: ApiServer | None

    @property
    def dashboard_url(self) -> str | None:
        return self.api.url + "/" if self.api else None

    async def submit(self, signal: Signal) -> OrderHandle:
        """Submit as the HTTP API does: the risk checks, then, for a strategy with ``approval =
        true``, the operator's decision on this desk's dashboard or ``orderdesk pending``, which
        this waits for. Strategy code embedding the desk submits here: ``desk.submit`` is the
        engine's own door and knows nothing of approvals.

        Raises what ``OrderDesk.submit`` raises (``RiskDenied`` naming the check…), and
        :class:`~orderdesk.approvals.NotApproved` when the operator rejects the signal or it
        lapses. Without the API (``serve=False``) only ``runtime.approvals`` can approve.
        A strategy named as the desk's own orders (``reserved_strategy``) is refused
        (``ValidationError``), as the API refuses it.
        """
        if (reason := reserved_strategy(signal.strategy)) is not None:
            raise ValidationError("strategy", reason)
        if not self.approvals.needs_approval(signal):
            return await self.desk.submit(signal)
        parked = await self.approvals.submit(signal)
        if not isinstance(parked, PendingSignal):  # the queue parks what needs approval
            return self.desk.handle(parked.order_id)
        settled = await self.approvals.wait(parked.approval_id)
        if settled.order_id is None:
            raise NotApproved(settled)
        return self.desk.handle(settled.order_id)


def alert_options(alerts: AlertSettings) -> AppriseOptions:
    """``[alerts]`` as the apprise notifier's own options."""
    return AppriseOptions(
        urls=tuple(alerts.urls),
        min_severity=Severity(alerts.min_severity),
        throttle_seconds=alerts.throttle_seconds,
        max_per_key=alerts.max_per_key,
    )


ALERTS_DRAIN_SECONDS = 10.0
"""How long a stop waits for the alerts still queued for ``[alerts] urls`` (the stop's own
among them): each gets one attempt, none a retry."""


def _notifier(settings: Settings, feed: AlertFeed) -> tuple[Notifier, AppriseNotifier | None]:
    """Every alert to the log, the dashboard's feed and ``[alerts] urls``; and the last, which
    the stop drains."""
    channels: list[Notifier] = [LoggingNotifier(), feed]
    delivering = None
    if settings.alerts.urls:
        delivering = AppriseNotifier.from_options(alert_options(settings.alerts))
        channels.append(delivering)
    return FanoutNotifier(*channels), delivering


async def _drain(delivering: AppriseNotifier | None) -> None:
    """Hand what the stop alerted to its channels, within :data:`ALERTS_DRAIN_SECONDS`."""
    if delivering is None:
        return
    try:
        async with asyncio.timeout(ALERTS_DRAIN_SECONDS):
            await delivering.aclose()
    except TimeoutError:
        log.warning("alerts.not_drained", seconds=ALERTS_DRAIN_SECONDS)


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    secrets: SecretStore | None = None,
    broker: Broker | None = None,
    serve: bool = True,
    clock: Clock | None = None,
) -> AsyncIterator[Runtime]:
    """Start the desk (replay, resolve, open the day, reconcile), then the API; stop both on
    exit. ``clock`` is the desk's time (default: the wall clock, or with ``clock =
    "simulator"`` the simulator's, :mod:`orderdesk.sim_time`).

    First of all it takes the event store for this desk alone
    (:func:`~orderdesk.store.desk_lock.exclusive_desk`): a second desk on the same store fails
    at once with :class:`~orderdesk.store.desk_lock.StoreInUse`, before it replays or connects.
    """
    # A refused address is refused before the store's folder and lock are made (its warning,
    # when allowed, is logged once, by serve_api as it binds).
    check_bind(settings.api.host, allow_remote=settings.api.allow_remote)
    if serve and not desk_holds(settings.store_url):
        # So is a port in use; but a desk running on this store is named by its lock below.
        check_port(settings.api.host, settings.api.port)
    with exclusive_desk(settings.store_url) as lock:
        async with contextlib.AsyncExitStack() as stack:
            if clock is None and settings.clock == "simulator":
                root = simulator_root(settings.broker, settings.broker_options())
                clock = await stack.enter_async_context(SimulatorTime(root))
            runtime = await stack.enter_async_context(
                _started(settings, secrets=secrets, broker=broker, serve=serve, clock=clock)
            )
            # Off the order path, every few seconds: a PostgreSQL restart drops the desk's lock.
            await stack.enter_async_context(lock.watched(runtime.desk.alerts))
            yield runtime


@contextlib.asynccontextmanager
async def _started(
    settings: Settings,
    *,
    secrets: SecretStore | None,
    broker: Broker | None,
    serve: bool,
    clock: Clock | None,
) -> AsyncIterator[Runtime]:
    clock = clock or SystemClock()
    config = desk_config(settings.engine, settings.trading_day, settings.risk, settings.exit)
    _warn_uncovered_year(config.days, clock)
    # The desk's trading days, for the parts beside the engine that keep them too (the paper
    # broker, the approval queue); None when [trading_day] is off.
    calendar = config.days.calendar if config.days is not None else None
    if broker is None:
        context = BrokerContext(
            secrets=secrets or default_secret_store(settings.config_dir),
            data_dir=settings.data_dir,
            clock=clock,
            calendar=calendar,
        )
        broker = create_broker(settings.broker, settings.broker_options(), context)
    make_private_dir(settings.data_dir)
    store = SqlEventStore(settings.store_url)
    feed = AlertFeed(clock=clock)
    notifier, delivering = _notifier(settings, feed)
    try:
        async with AsyncEventWriter(store) as writer:
            desk = OrderDesk(
                broker,
                store,
                writer=writer,
                notifier=notifier,
                limits=risk_limits(settings.risk),
                strategy_limits=strategy_limits(settings),
                algo_ids=algo_ids(settings),
                config=config,
                clock=clock,
            )
            async with desk:
                from orderdesk.api.desk_adapter import EngineDesk

                settle_after_start()

                service = EngineDesk(
                    desk,
                    storage=StorageProbe(
                        settings.store_url,
                        settings.backup_path,
                        copies_dir=settings.data_dir / "backups",
                        secrets_file=settings.config_dir / SECRETS_FILE_NAME,
                        log_file=settings.log_path,
                    ),
                )
                approvals = ApprovalQueue(
                    service.submit,
                    settings.strategies,
                    screen=service.screen,
                    notifier=notifier,
                    clock=clock,
                    calendar=calendar,
                    day_closes=desk.days.close_with if desk.days is not None else None,
                    record=desk.record_command,
                    # A signal id a decision closed stays closed across restarts.
                    decided=desk.recorder.desk_event,
                    decided_before=decisions_in(store),
                    # Signals a desk that did not stop cleanly left parked are decided now.
                    parked_before=parks_in(store),
                    placed=desk.has_order,
                )
                token = load_or_create_token(settings.config_dir)
                api: ApiServer | None = None
                if serve:
                    hooks = broker.webhooks() if isinstance(broker, WebhookSource) else {}
                    app = create_app(
                        service,
                        token=token,
                        approvals=approvals,
                        alerts=feed,
                        webhooks=hooks,
                        pnl_folder=settings.data_dir / "pnl",
                        order_limits=order_limits(broker),
                    )
                    api = await serve_api(
                        app,
                        settings.api.host,
                        settings.api.port,
                        allow_remote=settings.api.allow_remote,
                        stop_grace=_stop_grace(broker),
                    )
                bot = running_bot(
                    settings.telegram,
                    secrets or default_secret_store(settings.config_dir),
                    desk=service,
                    approvals=approvals,
                    record=desk.record_command,
                    clock=clock,
                )
                try:
                    backups = running_backups(
                        desk, settings.store_url, settings.backup_path, settings.store.backup_keep
                    )
                    with _announced(settings, api):
                        async with bot, backups:
                            yield Runtime(
                                settings, desk, broker, store, feed, approvals, token, api
                            )
                finally:
                    # Before the desk (and its broker session) closes: the requests in flight
                    # are let finish on them, and the event streams end.
                    if api is not None:
                        await api.stop()
                    await approvals.close()  # nothing new arrives now: say what is dropped
    finally:
        try:
            await _drain(delivering)
        finally:
            store.close()


__all__ = [
    "Runtime",
    "alert_options",
    "desk_config",
    "open_runtime",
    "order_limits",
    "risk_limits",
    "strategy_limits",
]
