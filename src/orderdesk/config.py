"""Configuration: ``orderdesk.toml`` plus ``ORDERDESK_*`` environment variables.

Precedence: explicit arguments > environment > the TOML file > defaults. Nested keys use a double
underscore in the environment (``ORDERDESK_API__PORT=8700`` sets ``[api] port``). The section of
the selected broker adapter (``[kite]`` for ``broker = "kite"``) is passed to the adapter as it
is; the adapter validates it. Secrets never belong here: api_secret and access_token come from
the environment, the OS keyring or a 0600 file (see :mod:`orderdesk.secrets`).

Any problem becomes a :class:`~orderdesk.errors.ConfigError` whose message names the key and
where it came from: the file, or the environment variable (never its value). A table, an
``ORDERDESK_<SECTION>__…`` variable of no section, or an ``ORDERDESK_…`` variable of no setting
(``ORDERDESK_RISK_MAX_QUANTITY``, one underscore short) is refused, not ignored: the limits in a
misspelled ``[rsik]`` would otherwise silently not apply.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import parse_qsl, unquote, urlsplit

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from orderdesk.domain.calendar import DEFAULT_HOURS, Segment, SessionHours, TradingCalendar
from orderdesk.domain.errors import ValidationError as DomainValidationError
from orderdesk.domain.signal import STRATEGY_NAME, reserved_strategy
from orderdesk.domain.values import Exchange, InstrumentKey
from orderdesk.engine.config import DayRules
from orderdesk.errors import ConfigError
from orderdesk.holidays import NSE_HOLIDAYS, holiday_years, load_holidays
from orderdesk.redaction import MASK
from orderdesk.secrets import TELEGRAM_BOT_TOKEN, env_var_for

ENV_PREFIX = "ORDERDESK_"
CONFIG_FILE_NAME = "orderdesk.toml"
_SECRET_KEYS = frozenset({"api_secret", "access_token", "secret", "password", "token", "bot_token"})
_OTHER_ENV_SECTIONS = frozenset({"sim"})
"""``ORDERDESK_<SECTION>__…`` variables that are not the desk's settings: ``orderdesk sim``'s
``ORDERDESK_SIM__API_SECRET``, often exported in the same shell."""
_OTHER_ENV_NAMES = frozenset({"config", "require_postgres"})
"""``ORDERDESK_*`` variables of no setting, read elsewhere: ``ORDERDESK_CONFIG``, the config
file's path (:func:`find_config_file`), and ``ORDERDESK_REQUIRE_POSTGRES``, the test suite's
switch that makes its PostgreSQL tests run rather than skip (set by ``.ci/run``)."""
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}")
"""A URL's scheme (RFC 3986): what of an unusable alert URL is shown, never the rest."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


STORE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
"""The event store's backends: SQLite (the default) and PostgreSQL through psycopg 3."""
_STORE_URL = re.compile(
    r"""
    (?P<scheme>[\w+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.X,
)
"""SQLAlchemy's own grammar of a database URL (``sqlalchemy.engine.url._parse_url``), so that
what is checked and hidden here is what SQLAlchemy will read: SQLAlchemy itself takes half a
second to load, which every command that reads the config would pay."""
_QUERY_PASSWORD = re.compile(r"(?i)((?:^|&)password=)[^&]*")
"""libpq also takes the password as a query parameter (``?password=…``)."""


def shown_store_url(url: str) -> str:
    """``url`` as it may be shown to a person or written anywhere: its password ``***``.

    The one form in which a store URL is said (``config check``; the store's errors, and so
    the API's 503s, the alerts and ``doctor``): a PostgreSQL URL may carry the database's
    password. A URL that does not parse is shown by its scheme alone."""
    found = _STORE_URL.fullmatch(url)
    if found is None:
        scheme, sep, _ = url.partition(":")
        return f"{scheme}:{MASK}" if sep and _SCHEME.fullmatch(scheme) else MASK
    shown = url
    if found["query"] is not None:
        start = found.start("query")
        shown = shown[:start] + _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", found["query"])
    if found["password"]:
        shown = shown[: found.start("password")] + MASK + shown[found.end("password") :]
    return shown


def store_url_passwords(url: str) -> list[str]:
    """The passwords ``url`` carries (in its authority or its query), as written and as
    decoded: what :func:`~orderdesk.redaction.register_secret` is given."""
    found = _STORE_URL.fullmatch(url)
    if found is None:
        return []
    written = [found["password"]] if found["password"] else []
    if found["query"]:
        written += [v for k, v in parse_qsl(found["query"]) if k.lower() == "password" and v]
    return [form for value in written for form in dict.fromkeys((value, unquote(value)))]


def store_url_problem(url: str) -> str | None:
    """Why the desk cannot open a store at ``url`` (never showing its password); None when it
    is a URL of a backend the desk has, with a numeric port if any."""
    found = _STORE_URL.fullmatch(url)
    if found is None:
        return (
            "not a database URL; use sqlite:////path/to/events.db or "
            "postgresql+psycopg://user@host/database"
        )
    scheme = found["scheme"]
    if scheme == "postgresql":
        return (
            "a PostgreSQL store is opened through psycopg 3: write the scheme "
            "postgresql+psycopg:// (plain postgresql:// means psycopg2, which orderdesk does "
            "not use)"
        )
    if scheme not in STORE_SCHEMES:
        return (
            f"the event store cannot be in {scheme!r}; it is SQLite (sqlite:///…) or "
            "PostgreSQL (postgresql+psycopg://…)"
        )
    port = found["port"]
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        return f"the port {port!r} is not a number from 0 to 65535"
    return None


class StoreSettings(_Section):
    url: str | None = None
    """SQLAlchemy URL of the event store; default: ``sqlite:///<data_dir>/events.db``. A
    PostgreSQL password is best given with ``ORDERDESK_STORE__URL``, out of the file."""

    backup_dir: Path | None = None
    """After each trading day's close, ``orderdesk run`` writes a verified copy of the event
    log here as ``events-<day>.db`` (an SQLite store only); a relative path is taken inside
    ``data_dir``. None: no daily backups (``orderdesk backup`` still makes one on demand)."""
    backup_keep: int = Field(default=20, ge=1)
    """The newest daily backups kept in ``backup_dir``; older ones are deleted."""

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        problem = None if value is None else store_url_problem(value)
        if problem is not None:
            raise PydanticCustomError("store_url", "{problem}", {"problem": problem})
        return value

    @model_validator(mode="after")
    def _backups_of_sqlite(self) -> StoreSettings:
        # The URL's scheme is read by hand: SQLAlchemy's URL parser would load SQLAlchemy for
        # every command that reads the config.
        backend = (self.url or "sqlite:").partition(":")[0].partition("+")[0]
        if self.backup_dir is not None and backend != "sqlite":
            raise ValueError(
                "backup_dir: daily backups are of an SQLite event store; back up a "
                f"{backend} one with its own tools (pg_dump for PostgreSQL)"
            )
        return self


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)
    allow_remote: bool = False
    """Binding a non-loopback host needs this set on purpose (and prints a warning)."""


OFF = "off"
"""What a user writes to switch a limit off (``max_quantity = "off"``; ``None`` in Python)."""
_LIMITS = (
    "max_quantity",
    "max_order_value",
    "max_open_orders",
    "daily_loss_limit",
    "price_band_percent",
    "orders_per_minute_per_strategy",
)


def _exchange(name: str) -> None:
    """Refuse an exchange the desk does not know, naming those it does."""
    if name.upper() not in Exchange.__members__:  # as the desk reads it: Exchange(name.upper())
        known = ", ".join(Exchange.__members__)
        raise ValueError(f"{name!r} is not an exchange (one of {known})")


def _symbol_entry(entry: str) -> str:
    """An allowed or blocked symbol entry as the desk matches it: upper-case, as Kite's trading
    symbols are (``nse:sbin`` loaded and never matched, so a block did not block)."""
    exchange, colon, symbol = entry.upper().partition(":")
    if not colon:
        exchange, symbol = "", exchange
    symbol = symbol.strip()
    if not symbol or (colon and not exchange.strip()):
        raise ValueError(f"{entry!r} is not EXCHANGE:SYMBOL (NSE:INFY) or a bare SYMBOL")
    if colon:
        _exchange(exchange.strip())
    try:
        key = InstrumentKey(Exchange(exchange.strip() or "NSE"), symbol)
    except DomainValidationError as error:
        raise ValueError(f"{entry!r}: {error.reason}") from None
    return str(key) if colon else key.tradingsymbol


class RiskSettings(_Section):
    """``[risk]``: pre-trade limits, with safe defaults a user loosens on purpose.

    Out of the box the desk refuses what a new user most likely did not mean: an extra zero
    on a quantity, a market order far larger than an account, a limit price with a slipped
    digit, trading on after a bad day. Each default is loosened with a number, or switched
    off with ``"off"`` (``None`` from Python); a check without a default is off until set.
    ``orderdesk config check`` prints the limits in force.
    """

    max_quantity: int | None = Field(default=1000, gt=0)
    """Shares or units per order. 1,000 is more than a retail cash-market order usually is,
    and a few lots of index options; the 100,000 of a mistyped 100 is refused."""
    max_order_value: Decimal | None = Field(default=Decimal(500_000), gt=0)
    """Rupees per order (quantity × price, or × the last price for market orders). ₹5 lakh is
    a large delivery order for a retail account; a lot of index futures is worth more, so a
    futures trader raises it knowingly."""
    allowed_exchanges: list[str] | None = None
    allowed_symbols: list[str] | None = None
    """``EXCHANGE:SYMBOL`` entries; None allows every symbol."""
    blocked_symbols: list[str] = Field(default_factory=list)
    """Entries as in ``allowed_symbols``, refused even when allowed (exits too)."""
    max_open_orders: int | None = Field(default=None, gt=0)
    daily_loss_limit: Decimal | None = Field(default=Decimal(10_000), gt=0)
    """Rupees. Once the day's P&L is ₹10,000 down only exits are accepted: 2% of a ₹5 lakh
    account, the usual retail rule of thumb for a day's loss."""
    on_daily_loss: Literal["alert", "kill_switch", "kill_switch_and_cancel"] = "alert"
    """What the desk does the moment the day's loss reaches ``daily_loss_limit`` (desk-wide
    only; a strategy's own limit is alerted): alert, engage the kill switch, or engage it and
    cancel every open order."""
    price_band_percent: Decimal | None = Field(default=Decimal(10), gt=0, le=100)
    """How far a limit or trigger price may sit from the last price. A slipped digit (1500
    typed as 15000 or 150) is 90% away or more; 10% still lets an order rest below or above
    the market, and most stocks' exchange price bands are 10 to 20% anyway."""
    check_margin: bool = False
    orders_per_minute_per_strategy: int | None = Field(default=None, gt=0)

    @field_validator("allowed_exchanges")
    @classmethod
    def _known_exchanges(cls, value: list[str] | None) -> list[str] | None:
        # Checked here, not only when the desk builds its limits: `config check` said OK.
        for name in value or ():
            _exchange(name)
        return value

    @field_validator("allowed_symbols", "blocked_symbols")
    @classmethod
    def _symbol_entries(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return [_symbol_entry(entry) for entry in value]

    def in_force(self) -> dict[str, str]:
        """Every check as a person reads it: its limit, or ``"off"``."""
        shown: dict[str, str] = {}
        for name in (*_LIMITS, "allowed_exchanges", "allowed_symbols", "blocked_symbols"):
            value = getattr(self, name)
            if isinstance(value, list):
                value = ", ".join(value) or None
            shown[name] = OFF if value is None else str(value)
        shown["check_margin"] = "on" if self.check_margin else OFF
        if self.daily_loss_limit is not None:
            shown["on_daily_loss"] = self.on_daily_loss
        return shown

    def defaults_in_force(self) -> list[str]:
        """The limits in force that the user did not set (the shipped defaults)."""
        return [
            name
            for name in _LIMITS
            if name not in self.model_fields_set and getattr(self, name) is not None
        ]

    @field_validator(*_LIMITS, mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        if isinstance(value, bool):  # a bool is an int to pydantic: `true` became a limit of 1
            raise ValueError(f'must be a number, or "{OFF}" to switch the check off')
        # TOML has no null: "off" is how a file (or ORDERDESK_RISK__…) says "no limit".
        if not isinstance(value, str):
            return value
        if value.strip().lower() == OFF:
            return None
        try:
            Decimal(value)
        except ArithmeticError:
            raise ValueError(f'must be a number, or "{OFF}" to switch the check off') from None
        return value


class StrategyRiskSettings(RiskSettings):
    """``[strategies.<name>.risk]``: the keys of ``[risk]``, with no defaults of its own (the
    desk-wide ``[risk]``, defaults included, applies to every strategy anyway)."""

    max_quantity: int | None = Field(default=None, gt=0)
    max_order_value: Decimal | None = Field(default=None, gt=0)
    daily_loss_limit: Decimal | None = Field(default=None, gt=0)
    price_band_percent: Decimal | None = Field(default=None, gt=0, le=100)

    @field_validator("on_daily_loss")
    @classmethod
    def _desk_wide(cls, value: object) -> object:
        # It was taken, shown by `config check` as in force, and never acted on.
        raise ValueError(
            "is desk-wide: set it in [risk]; a strategy's own daily_loss_limit refuses that "
            "strategy's new risk and is alerted"
        )

    def in_force(self) -> dict[str, str]:
        shown = super().in_force()
        shown.pop("on_daily_loss", None)  # the desk's, shown with [risk]
        return shown


class EngineSettings(_Section):
    reconcile_interval_seconds: float = Field(default=60.0, gt=0)
    trigger_interval_seconds: float = Field(default=10.0, gt=0)
    """How often the broker's GTTs and alerts are read while one of the desk's is live."""
    poll_interval_seconds: float = Field(default=5.0, gt=0)
    max_modifications: int = Field(default=25, gt=0)
    late_order_window_seconds: float = Field(default=30.0, gt=0, le=3600)
    """How long the desk keeps looking for an order the broker could not vouch for (Kite's
    "Order request timed out" 400) before it gives it up as not placed; see DeskConfig."""
    resend_within_seconds: float = Field(default=60.0, gt=0, le=3600)
    """How old an order's intent may be for a placement proven absent (a send a crash
    interrupted, a lost reply) to be sent again; older, it is given up as not placed. See
    DeskConfig.resend_within."""
    freeze_quantities: dict[str, int] = Field(default_factory=dict)
    """Exchange freeze limits by underlying (``NIFTY = 1800``), over the built-in NSE/BSE ones:
    they change a few times a year and Kite's instrument list does not carry them."""
    slicing: Literal["kite", "desk"] = "kite"
    """Who splits an order above the freeze quantity: ``kite``, one placement that Kite's
    autoslice cuts into at most 10 children (brokers without autoslice, e.g. paper, get the
    desk's slicing); ``desk``, one placement per slice."""

    @field_validator("freeze_quantities")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for name, limit in value.items():
            if limit <= 0:
                raise ValueError(f"{name}: a freeze limit is a positive quantity")
        return value


class ExitSettings(_Section):
    """``[exit]``: how ``exit_position`` (API ``POST /api/positions/exit``, ``orderdesk exit``)
    makes sure an exit fills: its protected MARKET order, not filled within
    ``reprice_after_seconds``, is re-priced to ``band_percent`` beyond the last price, up to
    ``max_reprices`` times; then a CRITICAL alert."""

    reprice_after_seconds: float = Field(default=5.0, gt=0, le=3600)
    max_reprices: int = Field(default=3, ge=0, le=20)
    """Kite allows 25 modifications of an order; the desk's own limit is ``max_modifications``."""
    band_percent: Decimal = Field(default=Decimal(2), gt=0, le=20)
    """How far beyond the last price a re-priced exit may go (Kite's market protection is a
    percent of the last price too)."""


class SpecialSessionHours(_Section):
    """A special session with market hours of its own (Diwali's Muhurat session):
    ``{ date = 2027-10-29, opens = "18:15", closes = "19:15" }``."""

    date: date
    opens: time
    closes: time

    @model_validator(mode="after")
    def _hours(self) -> SpecialSessionHours:
        try:
            SessionHours(self.opens, self.closes)
        except ValueError as exc:
            raise ValueError(f"special session {self.date}: {exc}") from None
        return self


def _session_kind(value: Any) -> str:
    return "hours" if isinstance(value, dict | SpecialSessionHours) else "date"


SpecialSession = Annotated[
    Annotated[date, Tag("date")] | Annotated[SpecialSessionHours, Tag("hours")],
    Discriminator(_session_kind),
]
"""A special session: a date (the usual hours), or a table with hours of its own."""


class TradingDaySettings(_Section):
    """``[trading_day]``: how the desk keeps Kite's trading days (KITE_API.md §14.1)."""

    enabled: bool = True
    """False: an always-open desk with no day lifecycle and no square-off cut-offs (the demo,
    paper trading at night). The broker session still expires as the broker says."""
    holidays_file: Path | None = None
    """Exchange holidays, one ``YYYY-MM-DD`` a line; replaces the shipped NSE 2026 list."""
    holidays: list[date] = Field(default_factory=list)
    """More holidays, added to the file's (or the shipped) list."""
    special_sessions: list[SpecialSession] = Field(default_factory=list)
    """Days the exchanges trade though they fall on a weekend or a holiday: a date for a
    session with the usual hours (the budget-day Sunday of 1 February 2026), which the desk
    opens, squares off and closes as any trading day; a table for one with hours of its own
    (Diwali's Muhurat session, ``{ date = 2027-10-29, opens = "18:15", closes = "19:15" }``),
    which the broker squares off 10 minutes before its close and the desk closes after it."""
    close_at: time = time(16, 15)
    """IST time at which the desk closes its day (after the 16:00 mass cancel; a day with
    currency or commodities in its book as long after their 17:00 or 23:45 one); orders the
    broker still has working then are settled when the next day opens."""
    square_off: dict[Segment, time] = Field(default_factory=dict)
    """The broker's MIS/CO square-off time per segment (``equity = "15:20"``,
    ``derivatives = "15:25"``, ``currency = "16:45"``, ``commodity = "23:05"``)."""
    own_square_off_minutes: int = Field(default=0, ge=0, le=180)
    """Square off the desk's own MIS/CO positions this many minutes before the broker does
    (0: off)."""
    square_off_warning_minutes: int = Field(default=10, ge=0, le=180)
    """Warn this long before each segment's broker square-off, listing the MIS/CO positions it
    will close (0: no warning)."""
    session_warning_minutes: int = Field(default=30, ge=0, le=720)
    """Alert this long before the broker session expires (06:00 IST)."""
    login_reminder_minutes: int = Field(default=15, ge=0, le=180)
    """On a trading day the desk has no usable session for, remind this long before the market
    opens (0: no reminder); a CRITICAL alert at the opening follows if no login has come."""

    def calendar(self) -> TradingCalendar:
        """The trading calendar these settings describe (``ConfigError`` for a bad file)."""
        base = load_holidays(self.holidays_file) if self.holidays_file else NSE_HOLIDAYS
        hours = dict(DEFAULT_HOURS)
        for segment, square_off in self.square_off.items():
            hours[segment] = replace(hours[segment], square_off=square_off)
        usual = frozenset(day for day in self.special_sessions if isinstance(day, date))
        own = {
            session.date: SessionHours(session.opens, session.closes)
            for session in self.special_sessions
            if isinstance(session, SpecialSessionHours)
        }
        return TradingCalendar(
            base | frozenset(self.holidays), hours=hours, sessions=usual, session_hours=own
        )

    def rules(self) -> DayRules:
        calendar = self.calendar()
        return DayRules(
            calendar=calendar,
            close_at=self.close_at,
            own_square_off_minutes=self.own_square_off_minutes,
            square_off_warning=timedelta(minutes=self.square_off_warning_minutes),
            session_warning=timedelta(minutes=self.session_warning_minutes),
            login_reminder=timedelta(minutes=self.login_reminder_minutes),
            holiday_years=holiday_years(calendar.holidays, shipped=self.holidays_file is None),
        )


class AlertSettings(_Section):
    urls: list[str] = Field(default_factory=list)
    """apprise URLs (Telegram, e-mail, ntfy, Slack, desktop…)."""
    min_severity: Literal["info", "warning", "critical"] = "warning"
    throttle_seconds: float = Field(default=300.0, ge=0)
    max_per_key: int = Field(default=3, gt=0)
    """At most this many messages per alert key within the throttle window."""


TELEGRAM_API = "https://api.telegram.org"


class TelegramSettings(_Section):
    """``[telegram]``: the desk's Telegram bot, part of ``orderdesk run`` when enabled (it
    needs the ``orderdesk[telegram]`` extra). The bot token is a secret like Kite's
    api_secret: ``ORDERDESK_TELEGRAM__BOT_TOKEN``, the OS keyring or the 0600 secrets file
    under ``telegram.bot_token``, never this file."""

    enabled: bool = False
    allowed_chat_ids: list[int] = Field(default_factory=list)
    """The only chats the bot answers; a message from any other is ignored and logged (its
    chat id, never its text), which is also how a new user learns their own chat id."""
    api_url: str = TELEGRAM_API
    """Where the Bot API answers: Telegram's, or a self-hosted Bot API server."""
    kill_confirm_seconds: float = Field(default=30.0, gt=0, le=600)
    """How long a ``/kill`` (or a ``/keep``) waits for its confirmation before it lapses."""

    @model_validator(mode="before")
    @classmethod
    def _drop_token(cls, data: object) -> object:
        # ORDERDESK_TELEGRAM__BOT_TOKEN shares the settings' naming scheme, so pydantic-settings
        # hands it to this section too; the secret store reads it, the settings must not hold it.
        if isinstance(data, dict) and "bot_token" in data:
            return {key: value for key, value in data.items() if key != "bot_token"}
        return data

    @field_validator("api_url")
    @classmethod
    def _safe_url(cls, value: str) -> str:
        url = urlsplit(value)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError("must be an http(s) URL such as " + TELEGRAM_API)
        if url.scheme == "http" and url.hostname not in ("127.0.0.1", "localhost", "::1"):
            # The token travels in every request's path: in the clear only on this machine.
            raise ValueError("plain http only to a Bot API server on this machine (loopback)")
        return value.rstrip("/")


class StrategySettings(_Section):
    approval: bool = False
    """Signals of this strategy wait for an operator's approval."""
    approval_ttl_seconds: float = Field(default=300.0, gt=0)
    algo_id: str | None = Field(default=None, min_length=1)
    """The exchange algo id Zerodha registered for this strategy, sent with its placements
    instead of the broker section's ``algo_id``."""
    risk: StrategyRiskSettings | None = None
    """``[strategies.<name>.risk]``: this strategy's own limits, checked in addition to
    ``[risk]``; open orders, the daily loss and the order rate count its own orders only."""


class Settings(BaseSettings):
    """Everything orderdesk reads from its config file and environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="allow",
        frozen=True,
    )

    broker: str = "kite"
    """Name of the broker adapter (entry point in ``orderdesk.brokers``)."""
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("orderdesk")))
    config_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_config_dir("orderdesk"))
    )
    clock: Literal["system", "simulator"] = "system"
    """The desk's time: the wall clock, or ``"simulator"``: the clock of the ``orderdesk sim``
    at ``[kite] root``, which ``POST /_sim/clock`` moves (run trading days in seconds)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = None
    """``orderdesk run`` also logs here (JSON lines, redacted like stderr), rotated at 10 MB
    with 5 old files kept; a relative path is taken inside ``data_dir``. None: stderr only."""
    store: StoreSettings = StoreSettings()
    api: ApiSettings = ApiSettings()
    risk: RiskSettings = RiskSettings()
    engine: EngineSettings = EngineSettings()
    alerts: AlertSettings = AlertSettings()
    trading_day: TradingDaySettings = TradingDaySettings()
    exit: ExitSettings = ExitSettings()
    telegram: TelegramSettings = TelegramSettings()
    strategies: dict[str, StrategySettings] = Field(default_factory=dict)

    @field_validator("broker")
    @classmethod
    def _broker_name(cls, value: str) -> str:
        if not value.isidentifier():
            raise ValueError("must be an adapter name such as 'kite' or 'paper'")
        return value

    @field_validator("strategies")
    @classmethod
    def _strategy_names(cls, value: dict[str, StrategySettings]) -> dict[str, StrategySettings]:
        # A table no signal can name would hold approvals and limits that never apply.
        for name in value:
            if not STRATEGY_NAME.fullmatch(name):
                raise PydanticCustomError(
                    "strategy_name",
                    "{name} can never be a signal's strategy: a strategy name is 1 to 32 "
                    "ASCII letters, digits, _ and -",
                    {"name": repr(name)},
                )
            if (reason := reserved_strategy(name)) is not None:
                raise PydanticCustomError("strategy_name", "{reason}", {"reason": reason})
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # ``toml_file`` is set per load by a subclass (see load_settings); none means no file.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def store_url(self) -> str:
        return self.store.url or sqlite_url(self.data_dir / "events.db")

    @property
    def backup_path(self) -> Path | None:
        """``[store] backup_dir`` resolved against ``data_dir``, or None without one."""
        folder = self.store.backup_dir
        if folder is None:
            return None
        folder = folder.expanduser()
        return folder if folder.is_absolute() else self.data_dir / folder

    @property
    def log_path(self) -> Path | None:
        """``log_file`` resolved against ``data_dir``, or None without one."""
        if self.log_file is None:
            return None
        return self.log_file if self.log_file.is_absolute() else self.data_dir / self.log_file

    def algo_ids(self) -> tuple[str | None, dict[str, str]]:
        """The broker section's ``algo_id`` (None when unset) and each strategy's own."""
        default = str(self.broker_options().get("algo_id") or "").strip()
        own = {
            name: strategy.algo_id
            for name, strategy in self.strategies.items()
            if strategy.algo_id is not None
        }
        return default or None, own

    def broker_options(self) -> dict[str, Any]:
        """The adapter's own section, with ``ORDERDESK_<BROKER>__<KEY>`` overrides applied.

        Secrets share the scheme (``ORDERDESK_KITE__API_SECRET``) but are not options: the
        secret store reads them, so they are left out here.
        """
        section = dict((self.model_extra or {}).get(self.broker) or {})
        prefix = f"{ENV_PREFIX}{self.broker.upper()}__"
        for name, value in os.environ.items():
            key = name[len(prefix) :].lower()
            if name.startswith(prefix) and key not in _SECRET_KEYS:
                section[key] = _json_or_text(name, value)
        return section


def _json_or_text(name: str, value: str) -> Any:
    """A broker variable's value: a list or a table is JSON, as for the desk's own sections
    (pydantic-settings parses those; an adapter's section is not a model of ours, so it is
    parsed here), anything else the text, which the adapter's own model converts."""
    if not value.lstrip().startswith(("[", "{")):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{name}: a list or a table is written as JSON here, and this is not JSON "
            f"({exc.msg} at character {exc.pos})"
        ) from None


def http_url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 host in brackets (``http://[::1]:8700``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file (``sqlite:////abs/path/events.db``).

    SQLAlchemy reads a ``?`` in the URL as the start of its query and decodes ``%XX``, so both
    are escaped: a data dir named with them (``trading?`` or ``100%20``) holds the log, instead
    of the log going to a cut or decoded path.
    """
    text = str(path.expanduser()).replace("%", "%25").replace("?", "%3F")
    return f"sqlite:///{text}"


def find_config_file(explicit: Path | None = None) -> Path | None:
    """``explicit``, else ``$ORDERDESK_CONFIG``, else ./orderdesk.toml, else the user's."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    from_env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"ORDERDESK_CONFIG names {path}, which does not exist")
        return path
    for candidate in (
        Path.cwd() / CONFIG_FILE_NAME,
        Path(platformdirs.user_config_dir("orderdesk")) / CONFIG_FILE_NAME,
    ):
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings; every problem is a :class:`ConfigError` naming the key, and the file
    or the environment variable it came from."""
    config_file = find_config_file(path)
    if config_file is not None:
        _check_toml(config_file)

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    try:
        settings: Settings = FileSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, config_file)) from None
    except SettingsError as exc:  # a variable's value that should be JSON and is not
        raise ConfigError(_describe_unparsed(exc)) from None
    _check_extras(settings, config_file)
    _check_environment(settings)
    return settings


def check_folders(settings: Settings, *, backups: bool = True) -> None:
    """Refuse a folder the desk writes that cannot be made or written, naming its setting:
    ``data_dir``, ``config_dir``, the SQLite store's (``store.url``) and, with ``backups``,
    ``store.backup_dir``. Nothing is left behind: a folder is probed with a temporary one
    made and removed in it, or in the nearest that exists."""
    folders: list[tuple[str, Path]] = [
        ("data_dir", settings.data_dir),
        ("config_dir", settings.config_dir),
    ]
    if settings.store.url:
        database = _sqlite_path(settings.store.url)
        if database is not None:
            folders.append(("store.url", database.parent))
    if backups and settings.backup_path is not None:
        folders.append(("store.backup_dir", settings.backup_path))
    for field, folder in folders:
        problem = _unwritable(folder.expanduser())
        if problem is not None:
            raise ConfigError(f"{field}: {problem}")


def _sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL, read by hand (SQLAlchemy is not loaded for the config)."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme.partition("+")[0] != "sqlite":
        return None
    text = rest.partition("?")[0].replace("%3F", "?").replace("%25", "%")
    return Path(text) if text and text != ":memory:" else None


def _unwritable(folder: Path) -> str | None:
    """Why ``folder`` cannot be made or written, or None when it can."""
    import tempfile

    nearest = folder
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent
    if not nearest.is_dir():
        return f"{folder} cannot be made: {nearest} is not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".orderdesk-probe-", dir=nearest))
    except OSError as exc:
        verb = "written" if nearest == folder else "made"
        return f"{folder} cannot be {verb}: {exc.strerror or exc} ({nearest})"
    return None


def check_alert_urls(settings: Settings, config_file: Path | None = None) -> None:
    """Refuse an ``[alerts] urls`` entry apprise cannot use, naming its index and scheme.

    Not part of :func:`load_settings`: apprise and its plugins take about a second to load,
    which every CLI command would pay; ``orderdesk config check`` asks. The URL itself is never
    shown, since apprise URLs carry tokens and passwords.
    """
    urls = settings.alerts.urls
    if not urls:
        return
    import apprise  # about a second with its plugins: only when asked

    for index, url in enumerate(urls):
        if apprise.Apprise().add(url):
            continue
        scheme, sep, _ = url.partition("://")
        named = f"scheme {scheme!r}" if sep and _SCHEME.fullmatch(scheme) else "no scheme"
        where = _source(("alerts", "urls", index), config_file)
        raise ConfigError(
            f"{where}alerts.urls.{index}: apprise cannot use this URL ({named}); see apprise's "
            "list of services for the form (e.g. ntfy://topic, tgram://bot_token/chat_id)"
        )


def _check_toml(path: Path) -> None:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded); a config file is "
            "TOML, which is UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    broker = data.get("broker")
    for name, section in _tables(data):
        if isinstance(section, dict):
            leaked = sorted(_SECRET_KEYS & set(section))
            if leaked:
                raise ConfigError(
                    f"{path}: {name}.{leaked[0]} must not be in the config file; "
                    + _where_secrets_go(
                        name, leaked[0], broker if isinstance(broker, str) else "kite"
                    )
                )


def _tables(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """The file's tables whose keys are settings: ``[strategies]`` is a table of tables keyed by
    strategy name (a strategy may be called ``token``), so its settings are one level down."""
    tables = [(name, section) for name, section in data.items() if name != "strategies"]
    strategies = data.get("strategies")
    if isinstance(strategies, dict):
        tables += [(f"strategies.{name}", table) for name, table in strategies.items()]
    return tables


def _where_secrets_go(section: str, key: str, broker: str) -> str:
    """Where a secret found in the file's ``[section]`` belongs, as the end of its refusal.

    Named for where the desk reads it, never for the table it was found in: the desk's own
    tables take no secrets (``ORDERDESK_API__ACCESS_TOKEN`` is refused as a setting of
    ``[api]``). The api_secret and access token are the broker's, named as ``orderdesk login``
    names them: ``kite.access_token`` in the secret store, ``ORDERDESK_KITE__ACCESS_TOKEN`` in
    the environment, for the file's ``broker`` or the adapter table they sat in. An adapter's
    table may hold any other secret that adapter reads from the store.
    """
    adapter = section not in Settings.model_fields and section in _adapter_sections(broker)
    owner = section if adapter else broker
    bot = f"store it with `orderdesk telegram-token`, or export {env_var_for(TELEGRAM_BOT_TOKEN)}"
    if key == "bot_token":
        return bot
    if key == "api_secret":
        variable = env_var_for(f"{owner}.api_secret")
        return f"export {variable}, or store it with `orderdesk login --ask-secret`"
    if key == "access_token":
        variable = env_var_for(f"{owner}.access_token")
        return f"`orderdesk login` makes and stores it (or export {variable})"
    if adapter:
        return _broker_secrets(section, key)
    if section == "telegram":
        return f"the bot's token is its bot_token: {bot}"
    if (section, key) == ("api", "token"):
        return (
            "the API's bearer token is made by the desk on its first run and kept in the "
            "config dir; `orderdesk config show-token` prints it"
        )
    if (section, key) == ("store", "password"):
        return f"give it in the store's URL through {ENV_PREFIX}STORE__URL, not in this file"
    return (
        f"no setting of [{section}] takes a {key}; the desk's secrets are the broker's "
        f"api_secret ({env_var_for(f'{broker}.api_secret')}, or `orderdesk login --ask-secret`) "
        "and access token (`orderdesk login`), and the Telegram bot's token "
        "(`orderdesk telegram-token`)"
    )


def _broker_secrets(broker: str, key: str) -> str:
    """Where a broker's secrets go, for a secret of no name the broker reads (``secret``,
    ``token``, ``password``): its app's api_secret and its day's access token."""
    return (
        f"{broker} reads no secret named {key}: its app's api_secret goes in "
        f"{env_var_for(f'{broker}.api_secret')}, the OS keyring or the 0600 secrets file "
        "(`orderdesk login --ask-secret` stores it), and its access token is made and stored "
        f"by `orderdesk login` (or export {env_var_for(f'{broker}.access_token')})"
    )


def _secrets_read(settings: Settings, adapters: frozenset[str]) -> frozenset[str]:
    """The secret-store names an ``ORDERDESK_<SECTION>__<KEY>`` variable of a secret's key may
    hold: each adapter's api_secret and access token, the Telegram bot's token, and the name
    the broker's ``postback_secret`` option gives its checksum secret."""
    names = {TELEGRAM_BOT_TOKEN}
    for adapter in adapters:
        names |= {f"{adapter}.api_secret", f"{adapter}.access_token"}
    postback = settings.broker_options().get("postback_secret")
    if isinstance(postback, str):
        names.add(postback.lower())
    return frozenset(names)


def _check_extras(settings: Settings, config_file: Path | None) -> None:
    """Refuse a top-level key or table of no setting: the limits or approvals in a misspelled
    ``[rsik]`` or ``[strategy.mean_rev]`` would silently not apply. A table is a setting's
    section or a broker adapter's own (``[kite]``, ``[paper]``)."""
    where = f"{config_file}: " if config_file else ""
    extra = settings.model_extra or {}
    if all(isinstance(v, dict) and k == settings.broker for k, v in extra.items()):
        return  # the usual file: only the chosen adapter's section (no registry look-up)
    adapters = _adapter_sections(settings.broker)
    for key, value in extra.items():
        if isinstance(value, dict) and key in adapters:
            continue
        kind = "section" if isinstance(value, dict) else "setting"
        raise ConfigError(f"{where}{key}: unknown {kind}{_did_you_mean(key, adapters)}")


def _check_environment(settings: Settings) -> None:
    """Refuse an ``ORDERDESK_…`` variable pydantic-settings would ignore: one of no section
    (``ORDERDESK_RISKS__…``), or of no setting (``ORDERDESK_RISK_MAX_QUANTITY``, one underscore
    where a section's key takes two). Secrets share the scheme under any section the secret
    store is told (a broker's ``postback_secret``), and the store still reads their older names
    (``ORDERDESK_KITE_API_SECRET``), so a variable named for a secret is left alone.
    """
    adapters: frozenset[str] | None = None
    for name in sorted(os.environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        words = upper.removeprefix(ENV_PREFIX).lower()
        section, sep, key = words.partition("__")
        if not sep or not section:
            if _is_read(words):
                continue
            if adapters is None:
                adapters = _adapter_sections(settings.broker)
            raise ConfigError(
                f"environment variable {name}: no setting has this name, so it would be "
                "ignored" + _spelled_as(words, adapters)
            )
        if section in Settings.model_fields or section in _OTHER_ENV_SECTIONS:
            continue
        if key not in _SECRET_KEYS and section == settings.broker:
            continue  # an option of the broker's, which its adapter validates
        if adapters is None:
            adapters = _adapter_sections(settings.broker)
        if key in _SECRET_KEYS:
            # Read by the secret store under that name, or by nothing: refused as an unknown
            # option of the broker's is (ORDERDESK_KITE__BANANA), not silently ignored.
            if f"{section}.{key}" in _secrets_read(settings, adapters):
                continue
            if section in adapters:
                raise ConfigError(
                    f"environment variable {name}: no secret or setting has this name, so it "
                    f"would be ignored; {_broker_secrets(section, key)}"
                )
            continue  # a secret the store may be told of under another section
        if section not in adapters:
            raise ConfigError(
                f"environment variable {name}: {section}: unknown section"
                + _did_you_mean(section, adapters, env=True)
            )


def _is_read(words: str) -> bool:
    """Whether ``ORDERDESK_<WORDS>`` (no double underscore) is a name the desk reads: a
    top-level setting (or a whole section as JSON), a variable of no setting read elsewhere,
    or a secret's older name (``ORDERDESK_KITE_API_SECRET``, see ``secrets.legacy_env_var_for``)."""
    return (
        words in Settings.model_fields
        or words in _OTHER_ENV_NAMES
        or any(words == key or words.endswith("_" + key) for key in _SECRET_KEYS)
    )


def _spelled_as(words: str, adapters: frozenset[str]) -> str:
    """What ``ORDERDESK_<WORDS>``, a name of no setting, most likely meant, as the end of its
    refusal: the setting it spells with a single underscore where a double one belongs."""
    path = _setting_path(words.split("_"), Settings)
    if path is not None:
        meant = ENV_PREFIX + "__".join(path).upper()
        return f"; did you mean {meant}? (a section's key takes a double underscore)"
    for section in sorted({*Settings.model_fields, *adapters}, key=len, reverse=True):
        model: type[BaseModel] | None = None
        named = False
        if section in Settings.model_fields:
            model, named = _section_model(Settings.model_fields[section].annotation)
            if model is None:
                continue  # a top-level setting, not a section
        elif words == section:  # an adapter's section as one variable, which nothing reads
            return f" (a section is set key by key: {ENV_PREFIX}{section.upper()}__<KEY>)"
        if not words.startswith(section + "_"):
            continue
        key = words.removeprefix(section + "_")
        if named:
            key = "<name>__<key>"
        elif model is not None:
            close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
            key = close[0] if close else "<key>"
        else:
            # An adapter's options are its own, taken as written, but its secrets' names are
            # known: ORDERDESK_KITE_APISECRET meant KITE__API_SECRET (KITE__APISECRET is refused).
            close = difflib.get_close_matches(key, sorted(_SECRET_KEYS), n=1, cutoff=0.8)
            key = close[0] if close else key
        meant = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
        return f"; did you mean {meant}? (a section's key takes a double underscore)"
    close = difflib.get_close_matches(words, list(Settings.model_fields), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {ENV_PREFIX}{close[0].upper()}?"
    return (
        f" (a section's key is {ENV_PREFIX}<SECTION>__<KEY>, e.g. {ENV_PREFIX}RISK__MAX_QUANTITY)"
    )


def _setting_path(words: list[str], model: type[BaseModel]) -> list[str] | None:
    """The keys leading to the setting of ``model`` that ``words`` (a variable's name split at
    every underscore) spell: ``risk max quantity`` → ``[risk, max_quantity]``; a strategy's
    name takes as many words as the rest leaves. None when they spell no setting."""
    for end in range(len(words), 0, -1):
        key = "_".join(words[:end])
        field = model.model_fields.get(key)
        if field is None:
            continue
        rest = words[end:]
        if not rest:
            return [key]
        inner, named = _section_model(field.annotation)
        if inner is None:
            continue
        for cut in range(1, len(rest)) if named else (0,):
            found = _setting_path(rest[cut:], inner)
            if found is not None:
                return [key, *(["_".join(rest[:cut])] if named else []), *found]
    return None


def _section_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The section a field holds (``RiskSettings``, ``StrategyRiskSettings | None``), and
    whether it holds them under names of the user's (``dict[str, StrategySettings]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = get_args(annotation)
    named = get_origin(annotation) is dict
    for arg in args[1:] if named else args:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg, named
    return None, False


def _adapter_sections(broker: str) -> frozenset[str]:
    """The chosen broker's section and every installed adapter's (a file may keep both
    ``[kite]`` and ``[paper]`` and switch with ``broker``)."""
    from orderdesk.brokers import available_brokers  # the registry, only when asked

    return frozenset({broker, *available_brokers()})


def _did_you_mean(key: str, adapters: frozenset[str], *, env: bool = False) -> str:
    known = sorted({*Settings.model_fields, *adapters})
    close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
    if not close:
        return f" (known: {', '.join(known)})"
    if env:
        return f"; did you mean `{close[0]}` ({ENV_PREFIX}{close[0].upper()}__…)?"
    return f"; did you mean `{close[0]}`?"


def _environment_names() -> dict[str, str]:
    """The ``ORDERDESK_*`` variables set, by their upper-case name (pydantic-settings reads
    them case-insensitively)."""
    return {name.upper(): name for name in os.environ if name.upper().startswith(ENV_PREFIX)}


def _source(loc: Sequence[int | str], config_file: Path | None) -> str:
    """Where a setting's value came from, as a message's prefix: the environment variable that
    set it or a table holding it (the environment wins over the file), else the file."""
    names = _environment_names()
    parts = [str(part).upper() for part in loc]
    for end in range(len(parts), 0, -1):
        name = names.get(ENV_PREFIX + "__".join(parts[:end]))
        if name is not None:
            return f"environment variable {name}: "
    # Else the file; a table's own rule (``[store]``'s backup_dir wants an SQLite url) may
    # also read a value set in the environment.
    inside = ENV_PREFIX + "__".join(parts) + "__"
    nested = sorted(name for upper, name in names.items() if parts and upper.startswith(inside))
    sources = [str(config_file)] if config_file else []
    sources += [f"environment variable {name}" for name in nested]
    return " and ".join(sources) + ": " if sources else ""


def _describe_unparsed(exc: SettingsError) -> str:
    """pydantic-settings' refusal of a variable whose value is not the JSON its setting takes
    (a list, a table), which names only the section: the variable named instead, and what it
    takes. Its value is never shown (it may be a secret's)."""
    found = re.search(r'field "([^"]+)"', str(exc))
    section = found.group(1) if found else ""
    names = _environment_names()
    candidates = sorted(
        name
        for upper, name in names.items()
        if section
        and (
            upper == ENV_PREFIX + section.upper()
            or upper.startswith(f"{ENV_PREFIX}{section.upper()}__")
        )
    )
    for name in candidates:
        path = name.upper().removeprefix(ENV_PREFIX).lower().split("__")
        kind = _json_kind(path)
        if kind is None:
            continue
        try:
            json.loads(os.environ[name])
        except ValueError:
            return f"environment variable {name}: {'.'.join(path)}: not valid JSON; it takes {kind}"
    if candidates:
        return (
            f"environment variable {' or '.join(candidates)}: a value that should be JSON (a "
            "list or a table) does not parse"
        )
    return (
        f"{section or 'a setting'}: a value that should be JSON (a list or a table) does not parse"
    )


def _json_kind(path: list[str]) -> str | None:
    """What the setting at ``path`` takes from a variable as JSON, in words with an example;
    None for a plain value (taken as the text it is)."""
    model: type[BaseModel] | None = Settings
    annotation: Any = None
    named = False
    for key in path:
        if named:  # a name of the user's (a strategy's): the section of that name
            named = False
            continue
        if model is None or key not in model.model_fields:
            return None
        annotation = model.model_fields[key].annotation
        model, named = _section_model(annotation)
    origin = get_origin(annotation)
    options = {get_origin(arg) or arg for arg in get_args(annotation)} | {origin, annotation}
    if model is not None or dict in options:
        return 'a JSON object, e.g. {"NIFTY": 1800}'
    if options & {list, tuple, set, frozenset}:
        return 'a JSON list, e.g. ["ntfy://orderdesk-alerts"]'
    return None


def _describe(exc: ValidationError, config_file: Path | None) -> str:
    """pydantic's objections as ``where: key: reason``, each blamed on its source. pydantic's
    messages never echo the input here, so a secret's value is never shown."""
    problems = [
        (_source(error["loc"], config_file), ".".join(str(part) for part in error["loc"]), error)
        for error in exc.errors()
    ]
    if len({where for where, _, _ in problems}) == 1:  # one source: named once
        return problems[0][0] + "; ".join(f"{key}: {e['msg']}" for _, key, e in problems)
    return "; ".join(f"{where}{key}: {e['msg']}" for where, key, e in problems)


__all__ = [
    "OFF",
    "STORE_SCHEMES",
    "STRATEGY_NAME",
    "AlertSettings",
    "ApiSettings",
    "EngineSettings",
    "RiskSettings",
    "Settings",
    "StoreSettings",
    "StrategyRiskSettings",
    "StrategySettings",
    "TelegramSettings",
    "TradingDaySettings",
    "check_alert_urls",
    "check_folders",
    "find_config_file",
    "http_url",
    "load_settings",
    "shown_store_url",
    "sqlite_url",
    "store_url_passwords",
    "store_url_problem",
]
