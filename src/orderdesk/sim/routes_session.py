"""Login, session and user routes: ``/connect/login``, ``/session/token``, ``/user/*``.

Login auto-approves: ``GET /connect/login`` answers 302 to the app's redirect URL with a fresh
single-use request token, as Kite does after a successful login (``--login-form`` shows a
one-button page first, for people clicking through by hand).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from orderdesk.sim.clock import fmt
from orderdesk.sim.core import Core, read_form
from orderdesk.sim.envelope import InputError, TokenError, ok
from orderdesk.sim.sessions import Session

EXCHANGES = ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"]
PRODUCTS = ["CNC", "NRML", "MIS", "BO", "CO"]
ORDER_TYPES = ["MARKET", "LIMIT", "SL", "SL-M"]

_LOGIN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>orderdesk sim — Kite login</title></head>
<body>
<h1>orderdesk sim</h1>
<p>Log in as <strong>{user}</strong> to the app <code>{api_key}</code>?</p>
<form method="post" action="/connect/login">
<input type="hidden" name="api_key" value="{api_key}">
<input type="hidden" name="redirect_params" value="{redirect_params}">
<button type="submit" id="login">Log in</button>
</form>
</body></html>
"""


def profile(core: Core, user_id: str) -> dict[str, Any]:
    """``GET /user/profile`` data for the simulated user."""
    return {
        "user_id": user_id,
        "user_type": "individual",
        "email": f"{user_id.lower()}@sim.invalid",
        "user_name": "Sim Trader",
        "user_shortname": "Sim",
        "broker": "ZERODHA",
        "exchanges": list(EXCHANGES),
        "products": list(PRODUCTS),
        "order_types": list(ORDER_TYPES),
        "avatar_url": None,
        "meta": {"demat_consent": "physical"},
    }


def _session_payload(core: Core, session: Session) -> dict[str, Any]:
    data = profile(core, session.user_id)
    data.update(
        {
            "api_key": session.api_key,
            "access_token": session.access_token,
            "public_token": session.public_token,
            "enctoken": session.public_token,
            "refresh_token": "",
            "silo": "",
            "login_time": fmt(session.login_time),
        }
    )
    return data


def add_session_routes(app: web.Application, core: Core) -> None:
    """Mount login, session and user routes."""
    config = core.config

    def redirect(redirect_params: str | None) -> web.HTTPFound:
        token = core.sessions.issue_request_token(config.user_id)
        query = urlencode(
            {"request_token": token, "action": "login", "type": "login", "status": "success"}
        )
        if redirect_params:
            # Kite echoes the app's own (already URL-encoded) parameters verbatim.
            query += "&" + redirect_params
        separator = "&" if "?" in config.redirect_url else "?"
        return web.HTTPFound(config.redirect_url + separator + query)

    async def login(request: web.Request) -> web.StreamResponse:
        values = await read_form(request)
        if values.get("api_key") != config.api_key:
            raise InputError("Invalid `api_key`.")
        redirect_params = values.get("redirect_params")
        if config.login_form and request.method == "GET":
            page = _LOGIN_PAGE.format(
                user=html.escape(config.user_id),
                api_key=html.escape(config.api_key),
                redirect_params=html.escape(redirect_params or ""),
            )
            return web.Response(text=page, content_type="text/html")
        raise redirect(redirect_params)

    async def create_session(request: web.Request) -> web.Response:
        values = await read_form(request)
        for key in ("api_key", "request_token", "checksum"):
            if not values.get(key):
                raise InputError(f"Missing or empty field `{key}`.")
        session = core.sessions.exchange(
            values["api_key"], values["request_token"], values["checksum"]
        )
        return ok(_session_payload(core, session))

    async def delete_session(request: web.Request) -> web.Response:
        values = await read_form(request)
        if values.get("refresh_token"):
            return ok(True)
        token = values.get("access_token")
        if not token:
            raise InputError("Missing or empty field `access_token`.")
        core.sessions.revoke(values.get("api_key", ""), token)
        return ok(True)

    async def refresh_session(request: web.Request) -> web.Response:
        raise TokenError("Refresh tokens are not enabled for this app.")

    async def user_profile(request: web.Request) -> web.Response:
        return ok(profile(core, await core.require_auth(request)))

    async def user_profile_full(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        data = profile(core, user_id)
        data.update(
            {
                "twofa_type": "totp",
                "phone": "*9999",
                "bank_accounts": [{"name": "SIM BANK", "branch": "", "account": "*9999"}],
                "dp_ids": ["0000000000000000"],
                "pan": "*XXXX",
                "tags": [],
                "password_timestamp": "1970-01-01 00:00:00",
                "twofa_timestamp": "1970-01-01 00:00:00",
                "meta": {"poa": "physical", "silo": "", "account_blocks": []},
            }
        )
        return ok(data)

    async def margins_all(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        return ok(
            {
                "equity": core.funds.segment(user_id, "equity"),
                "commodity": core.funds.segment(user_id, "commodity"),
            }
        )

    async def margins_segment(request: web.Request) -> web.Response:
        user_id = await core.require_auth(request)
        segment = request.match_info["segment"]
        if segment not in ("equity", "commodity"):
            raise InputError("Invalid segment: use equity or commodity.")
        return ok(core.funds.segment(user_id, segment))

    app.router.add_get("/connect/login", login)
    app.router.add_post("/connect/login", login)
    app.router.add_post("/session/token", create_session)
    app.router.add_delete("/session/token", delete_session)
    app.router.add_post("/session/refresh_token", refresh_session)
    app.router.add_get("/user/profile", user_profile)
    app.router.add_get("/user/profile/full", user_profile_full)
    app.router.add_get("/user/margins", margins_all)
    app.router.add_get("/user/margins/{segment}", margins_segment)


__all__ = ["add_session_routes", "profile"]
