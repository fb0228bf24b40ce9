"""What a person must do when the broker refuses orders from the desk's address.

Since 1 April 2026 Kite accepts place, modify and cancel only from the IPs registered with the
app (KITE_API.md §14.2). A refusal of that kind (:class:`~orderdesk.errors.AddressRefused`) is
a configuration fault, not bad luck: nothing retried or looked up can change it, only a
registration or the address the desk leaves from. So it is said once, in words, with the fix,
wherever it surfaces (the rejected order's reason, a failed modify or cancel, the alert).
"""

from __future__ import annotations

from orderdesk.errors import AddressRefused

ALERT_TITLE = "Broker refuses orders from this address"


def address_fix(exc: AddressRefused, broker: str) -> str:
    """The refusal and its fix in one sentence (``broker`` names the config section)."""
    address = exc.address or "the address this desk leaves from"
    return (
        f"{exc} — the broker accepts orders only from the static IPs registered with the app: "
        f"register {address} with the broker (Kite: your app's IP whitelist on "
        f"developers.kite.trade), or set [{broker}] source_address (and ip_family) to an "
        "address already registered; `orderdesk doctor` checks it"
    )


def alert_key(exc: AddressRefused) -> str:
    """One alert key per refused address, so a burst of refused orders is one alert."""
    return f"address_refused:{exc.address or '-'}"


__all__ = ["ALERT_TITLE", "address_fix", "alert_key"]
