"""The built-in universe: well-known NSE/BSE equities, the main indices, NIFTY/BANKNIFTY F&O, and
a few MCX commodity and CDS currency futures.

Kite's own dump is hundreds of thousands of rows and the upstream samples hold none of the names
people actually trade, so the simulator carries its own small universe. Equity and index tokens
are Kite's real ones (``exchange_token << 8 | segment``); prices are round, recent-looking values.

Derivatives are generated from a reference date so that they are never expired: futures for the
next three monthly expiries, NIFTY options for the next two weekly and two monthly expiries,
BANKNIFTY options for two monthlies (its weeklies were discontinued in 2024). Expiries follow
NSE's rules since 1 September 2025: Tuesdays, the last Tuesday of the month for monthlies, and
an expiry that falls on an exchange holiday moves to the trading day before it. Lot sizes are
those of contracts from the January 2026 series (NIFTY 65, BANKNIFTY 30). Strikes sit around
the index's level. The same date and calendar always yield the same rows and tokens.

:func:`new_series` is what a later trading day adds: as the simulator's days pass, its
rollover lists the series the day's window reaches that are not listed yet (a new weekly, a
new monthly, the options of a monthly that became one of the nearest two), with strikes around
the index's level that morning, as the exchange lists them.

Futures are priced at their index carried to expiry, ``F = S·e^(r·t)`` with ``t`` the years
left (:func:`future_value`), so the basis shrinks day by day and a contract trades within a few
points of its index on its last day; options are valued on the same forward.

The MCX and CDS futures (:data:`FUTURES`: CRUDEOIL, GOLDM, USDINR) list the next three monthly
contracts by each exchange's expiry rule (:func:`futures_expiries`), in lots: the dump's
``lot_size`` is 1, as in Kite's, and a position's ``multiplier`` is the lot's size in quoted
units (:mod:`orderdesk.domain.contracts`). Their nearest contract takes the random walk, later
months follow it carried over the months between (:mod:`orderdesk.sim.derivative_links`), and
:func:`new_futures` lists the month a rollover's window reaches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from orderdesk.domain.calendar import IST, TradingCalendar
from orderdesk.sim.instruments import SEGMENT_IDS, Instrument, make_token

_NSE = SEGMENT_IDS["NSE"]
_BSE = SEGMENT_IDS["BSE"]
_NFO = SEGMENT_IDS["NFO"]
_IDX = SEGMENT_IDS["INDICES"]

# (tradingsymbol, name as Kite's dump writes it, NSE exchange token, base price)
NSE_EQUITIES: tuple[tuple[str, str, int, float], ...] = (
    ("INFY", "INFOSYS", 1594, 1500.0),
    ("RELIANCE", "RELIANCE INDUSTRIES", 2885, 1400.0),
    ("TCS", "TATA CONSULTANCY SERV LT", 11536, 3100.0),
    ("HDFCBANK", "HDFC BANK", 1333, 980.0),
    ("SBIN", "STATE BANK OF INDIA", 3045, 850.0),
    ("ICICIBANK", "ICICI BANK", 4963, 1400.0),
    ("ITC", "ITC", 1660, 410.0),
    ("HINDUNILVR", "HINDUSTAN UNILEVER", 1394, 2450.0),
    ("BHARTIARTL", "BHARTI AIRTEL", 10604, 2000.0),
    ("KOTAKBANK", "KOTAK MAHINDRA BANK", 1922, 2100.0),
    ("LT", "LARSEN & TOUBRO", 11483, 3900.0),
    ("AXISBANK", "AXIS BANK", 5900, 1200.0),
    ("BAJFINANCE", "BAJAJ FINANCE", 317, 1000.0),
    ("ASIANPAINT", "ASIAN PAINTS", 236, 2500.0),
    ("MARUTI", "MARUTI SUZUKI INDIA", 10999, 16000.0),
    ("HCLTECH", "HCL TECHNOLOGIES", 7229, 1500.0),
    ("WIPRO", "WIPRO", 3787, 250.0),
    ("SUNPHARMA", "SUN PHARMACEUTICAL IND L", 3351, 1700.0),
    ("TITAN", "TITAN COMPANY", 3506, 3700.0),
    ("ULTRACEMCO", "ULTRATECH CEMENT", 11532, 12000.0),
    ("NESTLEIND", "NESTLE INDIA", 17963, 1250.0),
    ("TATASTEEL", "TATA STEEL", 3499, 170.0),
    ("POWERGRID", "POWER GRID CORP. LTD.", 14977, 290.0),
    ("NTPC", "NTPC", 11630, 340.0),
    ("ONGC", "OIL AND NATURAL GAS CORP.", 2475, 245.0),
    ("M&M", "MAHINDRA & MAHINDRA", 2031, 3600.0),
    ("TECHM", "TECH MAHINDRA", 13538, 1450.0),
    ("ADANIENT", "ADANI ENTERPRISES", 25, 2400.0),
    ("COALINDIA", "COAL INDIA", 20374, 390.0),
    ("JSWSTEEL", "JSW STEEL", 11723, 1150.0),
    ("BAJAJFINSV", "BAJAJ FINSERV", 16675, 2000.0),
    ("DRREDDY", "DR. REDDY'S LABORATORIES", 881, 1250.0),
    ("CIPLA", "CIPLA", 694, 1500.0),
    ("HDFCLIFE", "HDFC LIFE INS CO", 467, 760.0),
    ("INDUSINDBK", "INDUSIND BANK", 5258, 750.0),
)

# (tradingsymbol, BSE scrip code = exchange token); names and prices follow the NSE rows.
BSE_EQUITIES: tuple[tuple[str, int], ...] = (
    ("INFY", 500209),
    ("RELIANCE", 500325),
    ("TCS", 532540),
    ("HDFCBANK", 500180),
    ("SBIN", 500112),
    ("ICICIBANK", 532174),
    ("ITC", 500875),
    ("LT", 500510),
    ("BHARTIARTL", 532454),
    ("AXISBANK", 532215),
)

# (tradingsymbol = name, exchange, exchange token, base level)
INDICES: tuple[tuple[str, str, int, float], ...] = (
    ("NIFTY 50", "NSE", 1001, 25000.0),
    ("NIFTY BANK", "NSE", 1016, 56000.0),
    ("INDIA VIX", "NSE", 1035, 13.5),
    ("SENSEX", "BSE", 1, 82000.0),
)


@dataclass(frozen=True, slots=True)
class Underlying:
    """How one index's F&O is listed: contract sizes, limits, strike grid and expiry pattern."""

    name: str
    """The derivative rows' ``name`` and symbol prefix (``NIFTY``)."""
    index_key: str
    """The index the contracts follow (``NSE:NIFTY 50``)."""
    lot_size: int
    freeze_quantity: int
    strike_step: int
    strikes_each_side: int
    volatility: float
    """Annualised, for the option model."""
    weeklies: int
    """How many weekly expiries carry options besides the monthlies."""


UNDERLYINGS: tuple[Underlying, ...] = (
    # Lots from the January 2026 series (NSE, 28 October 2025); freeze limits of 1 September 2025.
    Underlying("NIFTY", "NSE:NIFTY 50", 65, 1800, 50, 10, 0.13, 2),
    Underlying("BANKNIFTY", "NSE:NIFTY BANK", 30, 900, 100, 10, 0.16, 0),
)
FUTURE_TICK = 0.10
OPTION_TICK = 0.05
EQUITY_TICK = 0.05
CARRY_RATE = 0.065
"""Annual cost of carry that puts index futures above spot (continuously compounded)."""
FIRST_NFO_TOKEN = 100_000  # well clear of the mocks' NFO exchange tokens (< 90 000)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKLY_MONTH_CODES = "123456789OND"
_KINDS = frozenset({"FUT", "CE", "PE"})
_TUESDAY = 1
_ONE_DAY = timedelta(days=1)
_NO_HOLIDAYS = TradingCalendar()

SeriesKey = tuple[str, date, bool]
"""A listed series: (underlying name, expiry, options?); a future is a series of its own."""

ExpiryRule = Callable[[int, int, TradingCalendar], date]
"""A contract month's expiry: ``rule(year, month, calendar)``."""


@dataclass(frozen=True, slots=True)
class FuturesContract:
    """An MCX or CDS future listed month after month, in lots (the dump's ``lot_size`` is 1 and
    the lot's size is the position's multiplier, :mod:`orderdesk.domain.contracts`)."""

    name: str
    """The rows' ``name`` and symbol prefix (``CRUDEOIL``)."""
    exchange: str
    spot: float
    """The level the contracts are carried from on the reference date (₹ per quoted unit)."""
    tick: float
    rate: float
    """Annual cost of carry (continuously compounded): what each later month trades above."""
    expiry: ExpiryRule
    months: int = 3
    """How many monthly contracts are listed at a time."""


def on_or_before(day_of_month: int) -> ExpiryRule:
    """MCX's rule for many contracts: a fixed day of the contract month, or the trading day
    before it when that is a holiday."""

    def rule(year: int, month: int, calendar: TradingCalendar) -> date:
        return _on_a_trading_day(date(year, month, day_of_month), calendar)

    return rule


def currency_expiry(year: int, month: int, calendar: TradingCalendar) -> date:
    """NSE's currency futures: two trading days before the month's last trading day."""
    last = _on_a_trading_day(date(year + month // 12, month % 12 + 1, 1) - _ONE_DAY, calendar)
    return calendar.previous_trading_day(calendar.previous_trading_day(last))


FUTURES: tuple[FuturesContract, ...] = (
    # MCX: crude oil in lots of 100 barrels (₹ per barrel, tick ₹1), expiring on the 19th;
    # gold mini in lots of 100 g (₹ per 10 g, tick ₹1), expiring on the 5th.
    FuturesContract("CRUDEOIL", "MCX", 5600.0, 1.0, CARRY_RATE, on_or_before(19)),
    FuturesContract("GOLDM", "MCX", 120_000.0, 1.0, CARRY_RATE, on_or_before(5)),
    # NSE currency: USD 1000 a lot (₹ per dollar, tick ₹0.0025); the forward premium is the
    # interest-rate gap between the rupee and the dollar, about 2 % a year.
    FuturesContract("USDINR", "CDS", 88.0, 0.0025, 0.02, currency_expiry),
)
FIRST_FUTURES_TOKENS: Mapping[str, int] = {"MCX": 600_000, "CDS": 60_000}
"""Where the built-in MCX and CDS contracts' exchange tokens start."""
_FUTURES_BY_KEY = {(c.exchange, c.name): c for c in FUTURES}


def ist_today() -> date:
    """Today's date in India."""
    return datetime.now(UTC).astimezone(IST).date()


def _on_a_trading_day(expiry: date, calendar: TradingCalendar) -> date:
    """An expiry that falls on a holiday moves to the trading day before it."""
    return expiry if calendar.is_trading_day(expiry) else calendar.previous_trading_day(expiry)


def monthly_expiry(year: int, month: int, calendar: TradingCalendar = _NO_HOLIDAYS) -> date:
    """The last Tuesday of the month, or the trading day before it if that is a holiday."""
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return _on_a_trading_day(last - timedelta(days=(last.weekday() - _TUESDAY) % 7), calendar)


def monthly_expiries(
    today: date, count: int, calendar: TradingCalendar = _NO_HOLIDAYS
) -> list[date]:
    """The next ``count`` monthly expiries on or after ``today``."""
    out: list[date] = []
    year, month = today.year, today.month
    while len(out) < count:
        expiry = monthly_expiry(year, month, calendar)
        if expiry >= today:
            out.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def weekly_expiries(
    today: date, count: int, calendar: TradingCalendar = _NO_HOLIDAYS
) -> list[date]:
    """The next ``count`` weekly expiries on or after ``today``: Tuesdays, each moved to the
    trading day before it when it is a holiday."""
    tuesday = today + timedelta(days=(_TUESDAY - today.weekday()) % 7)
    out: list[date] = []
    while len(out) < count:
        expiry = _on_a_trading_day(tuesday, calendar)
        if expiry >= today:
            out.append(expiry)
        tuesday += timedelta(weeks=1)
    return out


def futures_expiries(
    contract: FuturesContract, today: date, calendar: TradingCalendar = _NO_HOLIDAYS
) -> list[date]:
    """The expiries of ``contract``'s next :attr:`~FuturesContract.months` monthly contracts
    on or after ``today``."""
    out: list[date] = []
    year, month = today.year, today.month
    while len(out) < contract.months:
        expiry = contract.expiry(year, month, calendar)
        if expiry >= today:
            out.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def futures_chain(
    contract: FuturesContract, instruments: Iterable[Instrument], today: date
) -> list[Instrument]:
    """``contract``'s futures among ``instruments`` that have not expired before ``today``,
    nearest expiry first."""
    rows = [
        inst
        for inst in instruments
        if inst.exchange == contract.exchange
        and inst.name == contract.name
        and inst.instrument_type == "FUT"
        and inst.expiry
        and inst.expiry >= today.isoformat()  # ISO dates compare as text
    ]
    return sorted(rows, key=lambda inst: inst.expiry)


def years_to_expiry(expiry: date, today: date) -> float:
    """Time left in years, counting the expiry day itself (contracts trade until its close)."""
    return max((expiry - today).days + 1, 0) / 365.0


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def option_value(spot: float, strike: float, years: float, vol: float, call: bool) -> float:
    """Black-76 value on the carried forward (:func:`future_value`), unrounded; intrinsic value
    at expiry."""
    forward = future_value(spot, years)
    if years <= 0.0 or vol <= 0.0:
        return max(forward - strike, 0.0) if call else max(strike - forward, 0.0)
    spread = vol * math.sqrt(years)
    d1 = (math.log(forward / strike) + 0.5 * spread * spread) / spread
    d2 = d1 - spread
    if call:
        return forward * _norm_cdf(d1) - strike * _norm_cdf(d2)
    return strike * _norm_cdf(-d2) - forward * _norm_cdf(-d1)


def future_value(spot: float, years: float, rate: float = CARRY_RATE) -> float:
    """Spot carried ``years`` at ``rate`` (``S·e^(r·t)``), unrounded: the basis shrinks with
    the time left, to one day's carry on the last day (:func:`years_to_expiry` counts it)."""
    return spot * math.exp(rate * years)


def to_tick(price: float, tick: float) -> float:
    """``price`` on the tick grid (never below one tick), with the float noise rounded away."""
    tick = tick or EQUITY_TICK
    digits = max(2, -math.floor(math.log10(tick)) + 2)
    return round(max(round(price / tick), 1) * tick, digits)


def monthly_symbol(name: str, expiry: date) -> str:
    """``NIFTY26JUL`` — the prefix of monthly contracts."""
    return f"{name}{expiry:%y}{_MONTHS[expiry.month - 1]}"


def weekly_symbol(name: str, expiry: date) -> str:
    """``NIFTY26716`` — year, one-character month (1-9, O, N, D), day."""
    return f"{name}{expiry:%y}{_WEEKLY_MONTH_CODES[expiry.month - 1]}{expiry:%d}"


def builtin_instruments(today: date, calendar: TradingCalendar = _NO_HOLIDAYS) -> list[Instrument]:
    """Every built-in row for a reference date, in a fixed order."""
    rows: list[Instrument] = []
    nse_names = {sym: (name, price) for sym, name, _, price in NSE_EQUITIES}
    for symbol, name, token, price in NSE_EQUITIES:
        rows.append(_equity(symbol, name, token, price, "NSE", _NSE))
    for symbol, token in BSE_EQUITIES:
        name, price = nse_names[symbol]
        rows.append(_equity(symbol, name, token, price, "BSE", _BSE))
    levels: dict[str, float] = {}
    for symbol, exchange, token, level in INDICES:
        levels[f"{exchange}:{symbol}"] = level
        rows.append(
            Instrument(
                instrument_token=make_token(token, _IDX),
                exchange_token=token,
                tradingsymbol=symbol,
                name=symbol,
                last_price=level,
                expiry="",
                strike=0.0,
                tick_size=0.0,
                lot_size=0,
                instrument_type="EQ",
                segment="INDICES",
                exchange=exchange,
            )
        )
    rows += new_series(today, levels, calendar, first_token=FIRST_NFO_TOKEN)
    spots = {c.name: c.spot for c in FUTURES}
    rows += new_futures(today, spots, calendar, first_tokens=FIRST_FUTURES_TOKENS)
    return rows


def new_series(
    today: date,
    levels: Mapping[str, float],
    calendar: TradingCalendar = _NO_HOLIDAYS,
    *,
    first_token: int,
    listed: Collection[SeriesKey] = (),
) -> list[Instrument]:
    """The derivative rows ``today``'s window holds beyond the ``listed`` series, priced and
    struck against the index ``levels`` (``"NSE:NIFTY 50"`` → level), with exchange tokens
    from ``first_token`` on."""
    rows: list[Instrument] = []
    next_token = first_token
    for underlying in UNDERLYINGS:
        level = levels[underlying.index_key]
        for inst in _derivatives(underlying, level, today, calendar, next_token, listed):
            rows.append(inst)
            next_token = inst.exchange_token + 1
    return rows


def new_futures(
    today: date,
    spots: Mapping[str, float],
    calendar: TradingCalendar = _NO_HOLIDAYS,
    *,
    first_tokens: Mapping[str, int],
    listed: Collection[SeriesKey] = (),
) -> list[Instrument]:
    """The MCX and CDS futures rows ``today``'s window holds beyond the ``listed`` series, each
    priced at its contract's ``spots`` level (by name; a contract without one is left out)
    carried to its expiry, with exchange tokens from ``first_tokens[exchange]`` on."""
    rows: list[Instrument] = []
    next_token = dict(first_tokens)
    for contract in FUTURES:
        spot = spots.get(contract.name)
        if spot is None:
            continue
        exchange = contract.exchange
        for expiry in futures_expiries(contract, today, calendar):
            if (contract.name, expiry, False) in listed:
                continue
            token = next_token[exchange]
            next_token[exchange] = token + 1
            price = future_value(spot, years_to_expiry(expiry, today), contract.rate)
            rows.append(
                Instrument(
                    instrument_token=make_token(token, SEGMENT_IDS[exchange]),
                    exchange_token=token,
                    tradingsymbol=f"{monthly_symbol(contract.name, expiry)}FUT",
                    name=contract.name,
                    last_price=to_tick(price, contract.tick),
                    expiry=expiry.isoformat(),
                    strike=0.0,
                    tick_size=contract.tick,
                    lot_size=1,
                    instrument_type="FUT",
                    segment=f"{exchange}-FUT",
                    exchange=exchange,
                )
            )
    return rows


def builtins_beside(builtin: Iterable[Instrument], user: Iterable[Instrument]) -> list[Instrument]:
    """The built-in rows to list beside a user's instrument file: all but the months of an MCX
    or CDS future the file lists months of itself, so the file's months make that contract's
    chain (its nearest month walks from the file's price) instead of following a built-in
    month at another level."""
    theirs = {key for inst in user if (key := futures_contract(inst)) is not None}
    return [inst for inst in builtin if futures_contract(inst) not in theirs]


def futures_contract(inst: Instrument) -> FuturesContract | None:
    """The built-in MCX or CDS contract a future row is a month of (None for anything else)."""
    if inst.instrument_type != "FUT":
        return None
    return _FUTURES_BY_KEY.get((inst.exchange, inst.name))


def settlement_value(inst: Instrument, level: float) -> float:
    """A contract's final settlement price against its index's ``level``: a future's is the
    level, an option's its intrinsic value (0 out of the money)."""
    if inst.instrument_type == "FUT":
        return level
    if inst.instrument_type == "CE":
        return max(level - inst.strike, 0.0)
    return max(inst.strike - level, 0.0)


def series_of(inst: Instrument) -> SeriesKey | None:
    """The series a built-in derivative row belongs to (None for anything else): an NFO
    future or option chain, or a month of an MCX or CDS future."""
    if not inst.expiry or inst.instrument_type not in _KINDS:
        return None
    if inst.exchange != "NFO" and futures_contract(inst) is None:
        return None
    return (inst.name, date.fromisoformat(inst.expiry), inst.instrument_type != "FUT")


def _equity(
    symbol: str, name: str, token: int, price: float, exchange: str, segment_id: int
) -> Instrument:
    return Instrument(
        instrument_token=make_token(token, segment_id),
        exchange_token=token,
        tradingsymbol=symbol,
        name=name,
        last_price=price,
        expiry="",
        strike=0.0,
        tick_size=EQUITY_TICK,
        lot_size=1,
        instrument_type="EQ",
        segment=exchange,
        exchange=exchange,
    )


def _derivatives(
    u: Underlying,
    spot: float,
    today: date,
    calendar: TradingCalendar,
    first_token: int,
    listed: Collection[SeriesKey],
) -> list[Instrument]:
    rows: list[Instrument] = []
    token = first_token

    def add(symbol: str, price: float, expiry: date, strike: float, kind: str, tick: float) -> None:
        nonlocal token
        rows.append(
            Instrument(
                instrument_token=make_token(token, _NFO),
                exchange_token=token,
                tradingsymbol=symbol,
                name=u.name,
                last_price=to_tick(price, tick),
                expiry=expiry.isoformat(),
                strike=strike,
                tick_size=tick,
                lot_size=u.lot_size,
                instrument_type=kind,
                segment="NFO-FUT" if kind == "FUT" else "NFO-OPT",
                exchange="NFO",
                freeze_quantity=u.freeze_quantity,
            )
        )
        token += 1

    monthlies = monthly_expiries(today, 3, calendar)
    for expiry in monthlies:
        if (u.name, expiry, False) in listed:
            continue
        years = years_to_expiry(expiry, today)
        symbol = f"{monthly_symbol(u.name, expiry)}FUT"
        add(symbol, future_value(spot, years), expiry, 0.0, "FUT", FUTURE_TICK)
    expiries = sorted(set(weekly_expiries(today, u.weeklies, calendar)) | set(monthlies[:2]))
    expiries = [expiry for expiry in expiries if (u.name, expiry, True) not in listed]
    atm = round(spot / u.strike_step) * u.strike_step
    strikes = [
        atm + n * u.strike_step for n in range(-u.strikes_each_side, u.strikes_each_side + 1)
    ]
    for expiry in expiries:
        years = years_to_expiry(expiry, today)
        is_monthly = expiry in monthlies
        prefix = monthly_symbol(u.name, expiry) if is_monthly else weekly_symbol(u.name, expiry)
        for strike in strikes:
            for kind in ("CE", "PE"):
                value = option_value(spot, strike, years, u.volatility, kind == "CE")
                add(f"{prefix}{strike}{kind}", value, expiry, float(strike), kind, OPTION_TICK)
    return rows


__all__ = [
    "BSE_EQUITIES",
    "CARRY_RATE",
    "FIRST_FUTURES_TOKENS",
    "FIRST_NFO_TOKEN",
    "FUTURES",
    "INDICES",
    "IST",
    "NSE_EQUITIES",
    "UNDERLYINGS",
    "ExpiryRule",
    "FuturesContract",
    "SeriesKey",
    "Underlying",
    "builtin_instruments",
    "builtins_beside",
    "currency_expiry",
    "future_value",
    "futures_chain",
    "futures_contract",
    "futures_expiries",
    "ist_today",
    "monthly_expiries",
    "monthly_expiry",
    "new_futures",
    "new_series",
    "on_or_before",
    "option_value",
    "series_of",
    "settlement_value",
    "to_tick",
    "weekly_expiries",
    "weekly_symbol",
    "years_to_expiry",
]
