"""The Kite adapter's side of the static-IP rule: the refusal's words, and the config keys
that pin where connections leave from."""

from __future__ import annotations

import pytest

from orderdesk.brokers.kite.config import load_config
from orderdesk.brokers.kite.errors import (
    GeneralException,
    PermissionException,
    SourceAddressRefused,
    error_for,
)
from orderdesk.errors import AddressRefused, BrokerRejected, ConfigError


@pytest.mark.parametrize(
    ("message", "error_type", "status", "address"),
    [
        ("IP (2402:3a80:1::5) is not allowed", "PermissionException", 403, "2402:3a80:1::5"),
        ("IP (10.1.2.3) is not allowed to place orders", "InputException", 400, "10.1.2.3"),
        ("IP address 10.1.2.3 is not whitelisted for this app", None, 403, "10.1.2.3"),
        ("IP (10.1.2.3) is not allowed", "GeneralException", 500, "10.1.2.3"),
    ],
)
def test_a_static_ip_refusal_is_known_by_its_words_whatever_its_type(
    message: str, error_type: str | None, status: int, address: str
) -> None:
    """Kite's type and status for the refusal are unverified, so the message decides: it is
    an AddressRefused naming the address, never a 5xx's unknown outcome."""
    error = error_for(message, error_type, status)
    assert isinstance(error, SourceAddressRefused)
    assert isinstance(error, AddressRefused)
    assert isinstance(error, PermissionException)
    assert error.address == address
    assert (error.http_status, error.error_type, error.message) == (status, error_type, message)


def test_other_refusals_keep_their_classes() -> None:
    """A permission refusal without an address, and a 5xx, are what they were."""
    permission = error_for("Insufficient permission for that call.", "PermissionException", 403)
    assert type(permission) is PermissionException
    assert isinstance(permission, BrokerRejected)
    assert type(error_for("Something went wrong", "GeneralException", 500)) is GeneralException


def test_source_address_and_family_are_checked() -> None:
    """source_address must be an address; ipv4 is the default family; a family that does not
    fit the address is refused naming both."""
    config = load_config({"api_key": "k", "source_address": " 127.0.0.2 "})
    assert (config.source_address, config.ip_family) == ("127.0.0.2", "ipv4")
    assert load_config({"api_key": "k", "source_address": "::1", "ip_family": "any"})
    with pytest.raises(ConfigError) as bad:
        load_config({"api_key": "k", "source_address": "my-host"})
    assert "kite.source_address: " in str(bad.value)
    assert "IPv4 or IPv6 address" in str(bad.value)
    with pytest.raises(ConfigError) as mismatch:
        load_config({"api_key": "k", "source_address": "2402::1"})
    assert 'source_address 2402::1 is IPv6 but ip_family is "ipv4"' in str(mismatch.value)
    with pytest.raises(ConfigError) as family:
        load_config({"api_key": "k", "ip_family": "ipv5"})
    assert "kite.ip_family: " in str(family.value)
