"""The broker's risk checks on an order: the margin it needs, what the book's working orders
block, and whether a CNC sale is covered by stock the account has.

- An order needs margin (:func:`~orderdesk.sim.margins.order_margin`) only for the part that does
  not merely close an existing position or sell held stock; it is valued at its limit price (LIMIT,
  SL), its trigger (SL-M) or the last price (MARKET).
- What working orders block is kept incrementally by :class:`~orderdesk.sim.blocked.BlockedMargin`
  from each order's share (:meth:`RiskChecks.order_margin`): nothing before the RMS has passed the
  order, nothing for a cover order's stop leg (its parent's margin covers it).
- How much a user may still block is the funds model's answer, bound after construction
  (:meth:`RiskChecks.bind_funds`); until then, unlimited. An order is refused for margin only
  when it needs some and more than that (:func:`short_of_margin`): one needing none passes
  even on a negative balance, as a sale of held stock does on Kite.
- Kite allows no delivery short selling: a CNC sale beyond the holding, the day's CNC buys and
  what working CNC sells already hold is ``HoldingException`` (KITE_API.md §2); with holdings
  authorisation on, the part sold out of holdings must have been authorised today (HTTP 428,
  :mod:`orderdesk.sim.authorisation`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from orderdesk.sim.authorisation import HoldingsAuthorisation
from orderdesk.sim.blocked import BlockedMargin
from orderdesk.sim.envelope import HoldingError
from orderdesk.sim.margins import order_margin
from orderdesk.sim.order_params import PlaceRequest
from orderdesk.sim.orders import TERMINAL, Order, OrderType, Product, Side, Status, as_decimal
from orderdesk.sim.portfolio import Holding, Portfolio
from orderdesk.sim.ports import InstrumentLike, InstrumentLookup, PriceSource

ZERO = Decimal(0)
UNVALIDATED = frozenset({Status.PUT_ORDER_REQ_RECEIVED, Status.VALIDATION_PENDING})
"""Orders the RMS has not passed yet: they block no margin."""


def short_of_margin(required: Decimal, available: Decimal) -> bool:
    """Whether the RMS refuses an order for margin: it needs some, and more than is available.

    An order that needs none (a CNC sale of held stock, the close of an open position) is not
    refused when a big buy or a loss has left the balance negative: it blocks nothing more.
    """
    return required > ZERO and required > available


class RiskChecks:
    """Margins and holdings as the RMS sees them, and the blocked-margin ledger they feed."""

    def __init__(
        self,
        *,
        instruments: InstrumentLookup,
        prices: PriceSource,
        portfolio: Portfolio,
        authorisation: HoldingsAuthorisation | None = None,
    ) -> None:
        self._instruments = instruments
        self._prices = prices
        self._portfolio = portfolio
        self._authorisation = authorisation
        self.blocked = BlockedMargin(self.order_margin, self.reducible_of)
        """What each user's working orders block, kept up to date as they change."""
        if authorisation is not None:
            authorisation.bind_committed(self.from_holdings)
        portfolio.add_listener(self.blocked.position_changed)
        self._available: Callable[[str], Decimal] = lambda _user: Decimal("Infinity")

    def __repr__(self) -> str:
        return f"RiskChecks(authorisation={self._authorisation is not None})"

    # -- funds ---------------------------------------------------------------------------------

    def bind_funds(self, available: Callable[[str], Decimal]) -> None:
        """Let the funds model answer "what can this user still block?" (it reads the book)."""
        self._available = available

    def available(self, user_id: str) -> Decimal:
        """What ``user_id`` may still block."""
        return self._available(user_id)

    # -- margin --------------------------------------------------------------------------------

    def reducible_of(
        self, user_id: str, exchange: str, tradingsymbol: str, product: str, buy: bool
    ) -> int:
        """How much of an order only closes an existing position or sells held stock."""
        reducible = 0
        pos = self._portfolio.find(user_id, exchange, tradingsymbol, product)
        if pos is not None and (pos.quantity < 0 if buy else pos.quantity > 0):
            reducible += abs(pos.quantity)
        if not buy and product == Product.CNC:
            held = self._portfolio.holding(user_id, exchange, tradingsymbol)
            if held is not None:
                reducible += held.total_quantity  # T1 stock may be sold (BTST)
        return reducible

    def required_margin(
        self,
        user_id: str,
        inst: InstrumentLike,
        *,
        buy: bool,
        product: str,
        quantity: int,
        price: Decimal,
    ) -> Decimal:
        """Margin an order of ``quantity`` needs beyond what merely closes positions."""
        reducible = self.reducible_of(user_id, inst.exchange, inst.tradingsymbol, product, buy)
        chargeable = max(0, quantity - reducible)
        if not chargeable:
            return ZERO
        margin = order_margin(inst, buy=buy, product=product, quantity=chargeable, price=price)
        return margin.total

    def reference_price(self, order: Order | PlaceRequest, token: int) -> Decimal:
        """The price an order's margin is valued at: its limit, its trigger or the market."""
        if order.order_type in (OrderType.LIMIT, OrderType.SL):
            return order.price
        if order.order_type is OrderType.SLM:
            return order.trigger_price
        return as_decimal(self._prices.last_price(token))

    def order_margin(self, order: Order) -> Decimal:
        """What one working order of the book blocks now."""
        if order.status in TERMINAL or order.parent_order_id is not None:
            return ZERO  # a CO stop leg is covered by its parent's margin
        if order.status in UNVALIDATED:
            return ZERO  # the RMS blocks margin when it passes the order, not before
        inst = self._instruments.by_token(order.instrument_token)
        if inst is None:
            return ZERO
        return self.required_margin(
            order.user_id,
            inst,
            buy=order.is_buy,
            product=order.product,
            quantity=order.pending_quantity,
            price=self.reference_price(order, order.instrument_token),
        )

    def blocked_margin(self, user_id: str) -> Decimal:
        """Margin held by the user's working orders (kept up to date, not summed per call)."""
        return self.blocked.total(user_id)

    # -- holdings ------------------------------------------------------------------------------

    def sellable_cnc(self, user_id: str, exchange: str, tradingsymbol: str) -> int:
        """What a new CNC sale may still sell: the holding (settled and T1 quantity) and the
        day's CNC buys, less the day's CNC sales and what working CNC sell orders hold."""
        holding = self._portfolio.holding(user_id, exchange, tradingsymbol)
        held = holding.total_quantity if holding is not None else 0
        pos = self._portfolio.find(user_id, exchange, tradingsymbol, Product.CNC)
        net_today = pos.quantity if pos is not None else 0
        selling = (user_id, exchange, tradingsymbol, Product.CNC, False)
        return held + net_today - self.blocked.working_quantity(selling)

    def check_cnc_sale(self, user_id: str, inst: InstrumentLike, quantity: int) -> None:
        """Refuse a CNC sale of stock the account does not have: Kite allows no delivery short
        selling, and answers ``HoldingException`` (KITE_API.md §2)."""
        sellable = self.sellable_cnc(user_id, inst.exchange, inst.tradingsymbol)
        if quantity > sellable:
            raise HoldingError(
                f"Insufficient holdings to sell {quantity} {inst.tradingsymbol}: "
                f"{max(sellable, 0)} can be sold (holdings not sold today and today's CNC "
                "buys, less what open CNC sell orders hold)."
            )

    def check_holdings_sale(self, user_id: str, inst: InstrumentLike, req: PlaceRequest) -> None:
        """A CNC sale must be covered by stock the account has; the part beyond the day's
        delivery buys comes out of holdings, which an account without DDPI must have authorised
        today (HTTP 428 otherwise)."""
        if req.product != Product.CNC or req.transaction_type is Side.BUY:
            return
        self.check_delivery_sale(user_id, inst, req.quantity)

    def check_delivery_sale(self, user_id: str, inst: InstrumentLike, quantity: int) -> None:
        """``quantity`` more sold on delivery (a CNC sell placed, or one modified upwards): held,
        and authorised today for the part that comes out of holdings."""
        self.check_cnc_sale(user_id, inst, quantity)
        if self._authorisation is None:
            return
        holding = self._portfolio.holding(user_id, inst.exchange, inst.tradingsymbol)
        if holding is None:
            return
        more = self.from_holdings(holding, quantity) - self.from_holdings(holding)
        self._authorisation.check_sale(holding, more)

    def from_holdings(self, holding: Holding, selling: int = 0) -> int:
        """What of ``holding`` the day's CNC sales and its working CNC sell orders take, with
        ``selling`` more: the sales beyond the day's CNC buys. With nothing working and nothing
        more, the holdings row's ``used_quantity`` (:meth:`Portfolio.sold_today`)."""
        user_id, exchange, tradingsymbol = holding.user_id, holding.exchange, holding.tradingsymbol
        pos = self._portfolio.find(user_id, exchange, tradingsymbol, Product.CNC)
        net_today = pos.quantity if pos is not None else 0
        working = self.blocked.working_quantity(
            (user_id, exchange, tradingsymbol, Product.CNC, False)
        )
        return min(max(working + selling - net_today, 0), holding.total_quantity)


__all__ = ["UNVALIDATED", "RiskChecks", "short_of_margin"]
