"""Kite's error_type names and HTTP statuses map to typed errors under broker-neutral classes."""

from __future__ import annotations

import pytest

from orderdesk.brokers.kite import errors as kite_errors
from orderdesk.brokers.kite.errors import (
    ERROR_TYPES,
    GeneralException,
    GeneralRejection,
    HoldingsUnauthorised,
    KiteError,
    RouteNotFound,
    TooManyRequests,
    error_class,
    error_for,
)
from orderdesk.errors import (
    BrokerAuthError,
    BrokerError,
    BrokerRateLimited,
    BrokerRejected,
    BrokerUnavailable,
    HoldingsNotAuthorised,
    InputRejected,
    MarginRejected,
    NotFound,
    OrderRejected,
    is_retryable_read,
)

# KITE_API.md §2, with the neutral class the engine must see for each, at its typical status.
KNOWN_ERROR_TYPES: dict[str, tuple[int, type[BrokerError]]] = {
    "TokenException": (403, BrokerAuthError),
    "UserException": (403, BrokerRejected),
    "OrderException": (400, OrderRejected),
    "InputException": (400, InputRejected),
    "MarginException": (400, MarginRejected),
    "HoldingException": (400, MarginRejected),
    "NetworkException": (503, BrokerUnavailable),
    "DataException": (502, BrokerUnavailable),
    "GeneralException": (500, BrokerUnavailable),
    "PermissionException": (403, BrokerRejected),
}


def test_every_known_error_type_is_in_the_table() -> None:
    """Each error_type of KITE_API.md §2 has its own entry and a class of the same name."""
    assert set(KNOWN_ERROR_TYPES) == set(ERROR_TYPES)
    for name, cls in ERROR_TYPES.items():
        assert cls.__name__ == name
        assert getattr(kite_errors, name) is cls


@pytest.mark.parametrize("error_type", sorted(KNOWN_ERROR_TYPES))
def test_error_type_maps_to_neutral_class(error_type: str) -> None:
    """A Kite error at its typical status is an instance of the right broker-neutral class."""
    status, neutral = KNOWN_ERROR_TYPES[error_type]
    error = error_for("Kite says no", error_type, status)
    assert isinstance(error, neutral)
    assert isinstance(error, KiteError)
    assert type(error).__name__ == error_type
    assert error.http_status == status
    assert error.error_type == error_type
    assert error.message == "Kite says no"


def test_429_is_rate_limiting_whatever_the_type() -> None:
    """HTTP 429 (Kite sends NetworkException) is BrokerRateLimited, not BrokerUnavailable."""
    error = error_for("Too many requests", "NetworkException", 429)
    assert isinstance(error, TooManyRequests)
    assert isinstance(error, BrokerRateLimited)
    assert not isinstance(error, BrokerUnavailable)


def test_428_is_an_unauthorised_sale_of_holdings_whatever_the_type() -> None:
    """Kite's 428 (a CNC sale of holdings the day has not authorised) is a rejection of its
    own, whichever error_type comes with it (Kite's is unverified)."""
    for error_type in ("HoldingException", "InputException", None):
        error = error_for("Holdings authorisation required", error_type, 428)
        assert isinstance(error, HoldingsUnauthorised)
        assert isinstance(error, HoldingsNotAuthorised)
        assert not is_retryable_read(error)


def test_unknown_type_falls_back_by_status() -> None:
    """An unknown error_type is GeneralException on 5xx, a rejection on 4xx, NotFound on 404."""
    assert error_class("BrandNewException", 500) is GeneralException
    assert error_class(None, None) is GeneralException
    assert error_class("BrandNewException", 400) is GeneralRejection
    assert error_class("GeneralException", 404) is RouteNotFound
    assert issubclass(RouteNotFound, NotFound)


def test_retry_predicate_on_kite_errors() -> None:
    """Token errors and rejections are never retried; 5xx and 429 are retryable reads."""
    assert not is_retryable_read(error_for("expired", "TokenException", 403))
    assert not is_retryable_read(error_for("bad", "InputException", 400))
    assert is_retryable_read(error_for("down", "NetworkException", 503))
    assert is_retryable_read(error_for("slow down", "NetworkException", 429))
