"""Holdings authorisation: selling delivered stock without DDPI (KITE_API.md §5.2).

An account without a DDPI (or POA) lets the broker move stock out of the demat account only as
far as the user has authorised it at the depository (CDSL, with TPIN and OTP) for the day. Kite
answers a CNC sale of unauthorised holdings with HTTP 428 ("If there are any un-authorised
quantity then only 428 will be thrown", Kite's forum); the app asks for an authorisation with
``POST /portfolio/holdings/authorise`` (optional repeated ``isin`` and ``quantity``), gets a
``request_id`` and sends the user to ``/connect/portfolio/authorise/holdings/:api_key/
:request_id``, which ends at ``…/finish?status=success``. An authorisation lasts the day.

The simulator plays this when started with ``--holdings-authorisation`` (a non-DDPI account);
its authorisation page approves at once, standing in for CDSL's TPIN and OTP, as its login page
does for Kite's. Without the switch every sale goes through, as for an account with DDPI.

What the day's authorisation covers is taken by sales, not by attempts: by what today's CNC
sales sold out of the holding and what its working CNC sell orders would, read from the book
each time (:meth:`HoldingsAuthorisation.bind_committed`). So a cancelled or rejected sale gives
its unfilled part back at once, and the holdings row's ``used_quantity`` is the same count.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from orderdesk.sim.envelope import SimError
from orderdesk.sim.portfolio import Holding, Portfolio

HoldingKey = tuple[str, str, str]
"""(user, exchange, tradingsymbol)."""


class HoldingsNotAuthorised(SimError):
    """HTTP 428 as Kite documents it; the ``error_type`` and the words are UNVERIFIED
    (KITE_API.md's table gives ``HoldingException`` for holdings a sale lacks)."""

    error_type = "HoldingException"
    http_status = 428


class UnknownRequest(SimError):
    error_type = "InputException"
    http_status = 400


@dataclass(slots=True)
class _Grant:
    day: date
    quantity: int = 0


@dataclass(slots=True)
class HoldingsAuthorisation:
    """Who may sell how much of which holding today, and the requests awaiting the user."""

    required: bool
    portfolio: Portfolio
    today: Callable[[], date]
    _requests: dict[str, tuple[str, dict[str, int] | None]] = field(default_factory=dict)
    _grants: dict[HoldingKey, _Grant] = field(default_factory=dict)
    _committed: Callable[[Holding], int] | None = None

    def bind_committed(self, committed: Callable[[Holding], int]) -> None:
        """Let the RMS answer "what of this holding do today's sales and working sell orders
        take?" (it reads the book); until then, the day's sales alone."""
        self._committed = committed

    def committed(self, holding: Holding) -> int:
        """What of ``holding`` today's authorisation already covers: sold, or held by working
        sell orders. Counted afresh, never kept, so nothing that did not sell stays spent."""
        if self._committed is None:
            return self.portfolio.sold_today(holding)
        return self._committed(holding)

    def request(self, user_id: str, wanted: Mapping[str, int] | None) -> str:
        """A request for the user to approve: ``wanted`` ISINs and quantities, or every
        holding (``None``). Returns its ``request_id``."""
        request_id = secrets.token_hex(16)  # 32 characters, as Kite's sample
        self._requests[request_id] = (user_id, dict(wanted) if wanted is not None else None)
        return request_id

    def approve(self, request_id: str) -> None:
        """The user authorised ``request_id`` at the depository: its quantities may be sold
        today beyond what is already sold or on sale (a holding asked for in full when the
        request named none), never beyond the holding."""
        found = self._requests.pop(request_id, None)
        if found is None:
            raise UnknownRequest("Invalid or expired authorisation request.")
        user_id, wanted = found
        for holding in self.portfolio.holdings_of(user_id):
            if wanted is None:
                quantity = holding.total_quantity
            elif holding.isin in wanted:
                quantity = min(wanted[holding.isin], holding.total_quantity)
            else:
                continue
            grant = self._grant(_key(holding))
            # A new authorisation after a sale authorises more stock, not the sold stock again.
            covered = min(self.committed(holding) + quantity, holding.total_quantity)
            grant.quantity = max(grant.quantity, covered)

    def check_sale(self, holding: Holding, quantity: int) -> None:
        """Allow a sale of ``quantity`` more out of ``holding`` (raise 428 beyond what today's
        authorisation leaves after what is sold or on sale)."""
        if not self.required or quantity <= 0:
            return
        grant = self._grant(_key(holding))
        committed = self.committed(holding)
        if committed + quantity > grant.quantity:
            left = max(grant.quantity - committed, 0)
            raise HoldingsNotAuthorised(
                f"Holdings authorisation required: {quantity} of {holding.tradingsymbol} "
                f"would be sold, {left} are authorised for today. Authorise your holdings "
                "(CDSL TPIN) and try again."
            )

    def authorised(self, holding: Holding) -> tuple[int, date | None]:
        """Today's authorised quantity of ``holding`` and the day of it (0 and None: none)."""
        grant = self._grants.get(_key(holding))
        if grant is None or grant.day != self.today() or not grant.quantity:
            return 0, None
        return grant.quantity, grant.day

    def _grant(self, key: HoldingKey) -> _Grant:
        today = self.today()
        grant = self._grants.get(key)
        if grant is None or grant.day != today:  # an authorisation lasts the day
            grant = self._grants[key] = _Grant(today)
        return grant

    def reset(self) -> None:
        self._requests.clear()
        self._grants.clear()


def _key(holding: Holding) -> HoldingKey:
    return holding.user_id, holding.exchange, holding.tradingsymbol


__all__ = ["HoldingsAuthorisation", "HoldingsNotAuthorised"]
