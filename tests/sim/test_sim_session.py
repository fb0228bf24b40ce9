"""Login and session against the official client: the redirect, the checksum, expiry, logout."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kex

from orderdesk.sim.app import SimServer
from orderdesk.sim.config import SimConfig

from .conftest import SimControl, checksum, login


def _request_token(sim: SimServer, **extra: str) -> tuple[str, dict[str, list[str]]]:
    reply = requests.get(
        sim.rest_root + "/connect/login",
        params={"api_key": sim.config.api_key, "v": "3", **extra},
        allow_redirects=False,
        timeout=10,
    )
    assert reply.status_code == 302
    query = parse_qs(urlsplit(reply.headers["Location"]).query)
    return query["request_token"][0], query


def test_login_flow_with_generate_session(sim_thread: SimServer) -> None:
    """The 302 carries a request token that generate_session turns into a working session."""
    token, query = _request_token(sim_thread, redirect_params="state=abc&x=1")
    location_base = sim_thread.config.redirect_url
    assert query["action"] == ["login"]
    assert query["type"] == ["login"]
    assert query["status"] == ["success"]
    assert query["state"] == ["abc"]
    assert query["x"] == ["1"]
    kite = KiteConnect(sim_thread.config.api_key, root=sim_thread.rest_root)
    session = kite.generate_session(token, api_secret=sim_thread.config.api_secret)
    assert location_base.startswith("http://")
    assert session["user_id"] == "AB1234"
    assert session["access_token"] == kite.access_token
    assert session["login_time"].year >= 2024
    assert kite.profile()["user_id"] == "AB1234"


def test_request_token_is_single_use(sim_thread: SimServer) -> None:
    """A request token exchanged once is refused the second time with TokenException."""
    token, _ = _request_token(sim_thread)
    kite = KiteConnect(sim_thread.config.api_key, root=sim_thread.rest_root)
    kite.generate_session(token, api_secret=sim_thread.config.api_secret)
    with pytest.raises(kex.TokenException) as exc_info:
        kite.generate_session(token, api_secret=sim_thread.config.api_secret)
    assert exc_info.value.code == 403


def test_bad_checksum_is_a_token_exception(sim_thread: SimServer) -> None:
    """A checksum made with the wrong secret is refused and the token stays unusable."""
    token, _ = _request_token(sim_thread)
    kite = KiteConnect(sim_thread.config.api_key, root=sim_thread.rest_root)
    with pytest.raises(kex.TokenException) as exc_info:
        kite.generate_session(token, api_secret="wrong")
    assert "checksum" in str(exc_info.value)
    assert checksum("a", "b", "c") != checksum("a", "b", "d")


def test_bad_access_token_is_403_token_exception(sim_thread: SimServer) -> None:
    """An unknown access token gets 403 TokenException on every authenticated route."""
    kite = KiteConnect(sim_thread.config.api_key, root=sim_thread.rest_root)
    kite.set_access_token("not-a-token")
    with pytest.raises(kex.TokenException) as exc_info:
        kite.orders()
    assert exc_info.value.code == 403


def test_logout_invalidates_the_token(kite: KiteConnect) -> None:
    """After invalidate_access_token the same token is refused."""
    assert kite.invalidate_access_token() is True
    with pytest.raises(kex.TokenException) as exc_info:
        kite.profile()
    assert exc_info.value.code == 403


def test_tokens_expire_at_six_next_morning(kite: KiteConnect, simctl: SimControl) -> None:
    """Moving the simulated clock past 06:00 IST the next day expires the session."""
    assert kite.profile()["user_id"] == "AB1234"
    simctl.advance(30 * 3600)
    with pytest.raises(kex.TokenException) as exc_info:
        kite.margins()
    assert exc_info.value.code == 403


def test_expire_tokens_fault(kite: KiteConnect, simctl: SimControl) -> None:
    """The expire_tokens fault makes a live token fail until it is switched off."""
    simctl.faults(expire_tokens=True)
    with pytest.raises(kex.TokenException) as exc_info:
        kite.positions()
    simctl.faults(expire_tokens=False)
    assert exc_info.value.code == 403
    assert kite.positions() == {"net": [], "day": []}


def test_profile_full_and_margins(kite: KiteConnect) -> None:
    """Profile, full profile and every margins segment answer in Kite's shapes."""
    headers = {"Authorization": f"token {kite.api_key}:{kite.access_token}"}
    full = requests.get(kite.root + "/user/profile/full", headers=headers, timeout=10).json()
    assert full["data"]["user_id"] == "AB1234"
    assert full["data"]["twofa_type"] == "totp"
    margins = kite.margins()
    assert set(margins) == {"equity", "commodity"}
    equity = kite.margins("equity")
    assert equity["net"] == 1_000_000
    assert equity["available"]["live_balance"] == 1_000_000
    assert kite.margins("commodity")["enabled"] is True
    with pytest.raises(kex.InputException):
        kite.margins("bogus")


def test_login_form_page(sim_config: SimConfig) -> None:
    """With --login-form the login URL shows a page whose form posts to the redirect."""
    sim_config.login_form = True
    with SimServer.run_in_thread(sim_config) as sim:
        page = requests.get(
            sim.rest_root + "/connect/login",
            params={"api_key": sim.config.api_key, "v": "3"},
            allow_redirects=False,
            timeout=10,
        )
        assert page.status_code == 200
        assert "<form" in page.text
        reply = requests.post(
            sim.rest_root + "/connect/login",
            data={"api_key": sim.config.api_key},
            allow_redirects=False,
            timeout=10,
        )
        assert reply.status_code == 302
        assert "request_token=" in reply.headers["Location"]
        assert login(sim).profile()["user_id"] == "AB1234"
