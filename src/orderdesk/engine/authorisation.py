"""What a person must do when the broker will not sell delivered stock the day has not
authorised.

An account without DDPI (or a POA) lets the broker take stock out of the demat account only as
far as the user has authorised it at the depository for the day (CDSL: TPIN and OTP; KITE_API.md
§5.2). A sale beyond it (:class:`~orderdesk.errors.HoldingsNotAuthorised`) is refused however
often it is sent, so it is said once, in words, with the fix: the rejected order's reason and
the alert.
"""

from __future__ import annotations

from orderdesk.domain.values import InstrumentKey
from orderdesk.errors import HoldingsNotAuthorised

ALERT_TITLE = "Holdings not authorised for sale"


def authorisation_fix(exc: HoldingsNotAuthorised, instrument: InstrumentKey) -> str:
    """The refusal and its fix in one sentence."""
    return (
        f"{exc} — an account without DDPI must authorise each day's sales of holdings at the "
        f"depository: `orderdesk authorise-holdings {instrument}` gives the page (TPIN and "
        "OTP), or Kite web or app: Holdings, Authorise; then send a new signal"
    )


def alert_key(instrument: InstrumentKey) -> str:
    """One alert key per instrument, so the notifier's throttle sends a burst of refused sales
    as one alert."""
    return f"holdings_authorisation:{instrument}"


__all__ = ["ALERT_TITLE", "alert_key", "authorisation_fix"]
