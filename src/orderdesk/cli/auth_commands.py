"""``orderdesk login`` and ``orderdesk logout``: the broker's daily session, kept out of the config.

Both find the login of the broker the config names (``broker = "kite"``) through the broker
registry (:func:`orderdesk.brokers.create_login_flow`), never by importing an adapter; a broker
whose sessions need no person (``paper``) has none, and says so.

``login`` opens the broker's login page, catches the redirect on a one-shot loopback server (or
takes the redirect address the user pastes with ``--redirect-url``), exchanges the request token
for a session and stores its access token in the secret store: the OS keyring when usable, else
a 0600 file in the user's config dir. When a desk is running (``orderdesk run``: it holds the
lock on this config's event store and announced its address in the config dir) the token is
handed to it too (``POST /api/session``), so the morning login reaches the desk without a
restart; a desk that is not running reads the stored token when it starts. Nothing is sent to
``[api]``'s port on its own word: with the desk stopped, whatever listens there is not the desk,
and it would be handed the day's session and the API token. ``logout`` ends the session at the
broker and deletes the token.

``--api-key``, ``--api-root`` and ``--login-root`` override the broker section's ``api_key``,
``root`` and ``login_root`` (for Kite also ``ORDERDESK_KITE__API_KEY`` …). The api_secret comes
only from the secret store under ``<broker>.api_secret`` (``ORDERDESK_KITE__API_SECRET``, keyring
or file), or from a hidden prompt with ``--ask-secret`` — never from a flag, which would land in
shell history; the access token is stored as ``<broker>.access_token``, where the adapter reads
it. Against the simulator pass ``--api-root http://127.0.0.1:8765``: it serves the login page
too.
"""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer

from orderdesk.api.schemas import SessionOut
from orderdesk.api_token import read_token
from orderdesk.brokers import BrokerContext, create_login_flow
from orderdesk.cli import app
from orderdesk.cli._common import (
    ConfigOption,
    console,
    desk_address,
    fail,
    settings_or_exit,
    when_text,
)
from orderdesk.client import DeskAuthError, DeskClient, DeskClientError
from orderdesk.config import Settings
from orderdesk.desk_address import running_desk
from orderdesk.errors import BrokerAuthError, BrokerTransportError, OrderDeskError
from orderdesk.ports.login import LoginFlow, LoginSession
from orderdesk.secrets import (
    ChainSecretStore,
    EnvSecretStore,
    default_secret_store,
    describe_store,
    env_var_for,
)

DEFAULT_CALLBACK_PORT = 5000
DEFAULT_WAIT_SECONDS = 300.0
HANDOVER_SECONDS = 60.0
"""The desk's answer to a handed-over token waits for its instrument list and a
reconciliation with the new session."""
HANDOVER_CONNECT_SECONDS = 2.0
"""Connecting is quick, or nothing is listening."""

ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="The broker app's api_key (default: the broker section's api_key, "
        "e.g. $ORDERDESK_KITE__API_KEY).",
    ),
]
ApiRootOption = Annotated[
    str | None,
    typer.Option(
        "--api-root",
        help="The broker's REST root (default: the broker section's root, "
        "e.g. $ORDERDESK_KITE__ROOT).",
    ),
]


class _Target:
    """The configured broker's login, its flags applied, and the secret store it uses."""

    def __init__(
        self,
        config: Path | None,
        api_key: str | None,
        api_root: str | None,
        login_root: str | None = None,
    ) -> None:
        self.settings = settings = settings_or_exit(config)
        self.broker = broker = settings.broker
        # Secret names follow the adapters' convention: kite.api_secret, kite.access_token.
        self.api_secret = f"{broker}.api_secret"
        self.access_token = f"{broker}.access_token"
        self.store: ChainSecretStore = default_secret_store(settings.config_dir)
        flags = {"api_key": api_key, "root": api_root, "login_root": login_root}
        options = {**settings.broker_options(), **{k: v for k, v in flags.items() if v}}
        context = BrokerContext(secrets=self.store, data_dir=settings.data_dir)
        try:
            flow = create_login_flow(self.broker, options, context)
        except OrderDeskError as exc:
            fail(str(exc))
        if flow is None:
            fail(
                f"the {self.broker} broker has no login: its sessions need no person "
                "(`orderdesk login` is for brokers such as kite)"
            )
        self.flow: LoginFlow = flow


@app.command("login", rich_help_panel="Setup")
def login(
    config: ConfigOption = None,
    api_key: ApiKeyOption = None,
    api_root: ApiRootOption = None,
    login_root: Annotated[
        str | None,
        typer.Option(
            "--login-root",
            help="Login page root (default: the broker's login host; the API root if that is "
            "not the broker's, as for the simulator).",
        ),
    ] = None,
    callback_port: Annotated[
        int,
        typer.Option(
            "--callback-port",
            min=0,
            max=65535,
            help="Port of the redirect URL registered in the broker app (http://127.0.0.1:PORT/…).",
        ),
    ] = DEFAULT_CALLBACK_PORT,
    redirect_url: Annotated[
        str | None,
        typer.Option(
            "--redirect-url",
            help="Skip the callback server: the address the browser landed on after login.",
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the login URL without opening it.")
    ] = False,
    ask_secret: Annotated[
        bool,
        typer.Option(
            "--ask-secret", help="Prompt (hidden) for the api_secret and store it for next time."
        ),
    ] = False,
    wait_seconds: Annotated[
        float, typer.Option("--wait", min=1, help="Seconds to wait for the login redirect.")
    ] = DEFAULT_WAIT_SECONDS,
    desk_url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="The running desk's API address (default: the address it announced). The "
            "token goes only to a desk holding this config's event store.",
            callback=desk_address,
        ),
    ] = None,
) -> None:
    """Log in to the broker and store the day's access token (Kite's lasts until 06:00 IST).

    A running desk is handed the new token at once. Exits 1 if a running desk refuses it (the
    token stays stored, for the desk's next start).
    """
    target = _Target(config, api_key, api_root, login_root)
    flow, store = target.flow, target.store
    try:
        if ask_secret:
            secret = typer.prompt(f"{target.broker} api_secret", hide_input=True)
            store.set(target.api_secret, secret)
        api_secret = store.get(target.api_secret)
    except OrderDeskError as exc:
        fail(str(exc))
    if not api_secret:
        fail(
            f"no api_secret: export {env_var_for(target.api_secret)}, or run "
            "`orderdesk login --ask-secret` once to keep it in the keyring (or a 0600 file)"
        )

    async def go() -> LoginSession:
        if redirect_url is not None:
            token = flow.request_token(redirect_url)
        else:
            token = await _await_redirect(flow, callback_port, wait_seconds, no_browser)
        return await flow.open_session(token, api_secret)

    session = _run(go())
    access_token = session.credentials
    try:
        store.set(target.access_token, access_token)
    except OrderDeskError as exc:
        fail(f"logged in, but the access token could not be stored: {exc}")
    where = describe_store(store.where(target.access_token))
    console.print(
        f"Logged in as {session.user_id} ({session.user_name}).", highlight=False, soft_wrap=True
    )
    console.print(f"Access token stored in {where}.", highlight=False, soft_wrap=True)
    if session.expires_at is not None:
        console.print(
            f"It expires around {when_text(session.expires_at)}.", highlight=False, soft_wrap=True
        )
    if EnvSecretStore().get(target.access_token) is not None:
        console.print(
            f"[yellow]warning:[/] {env_var_for(target.access_token)} is set and takes precedence "
            "over the stored token; unset it to use this login.",
            highlight=False,
            soft_wrap=True,
        )
    _hand_to_desk(target.settings, desk_url, access_token)


def _hand_to_desk(settings: Settings, url: str | None, access_token: str) -> None:
    """Give the new token to the running desk, if one is proven to run; else say it is not.

    A desk is proven to run when it holds the lock on this config's event store and (unless
    ``--url`` names its address) announced its address in the config dir. Neither the access
    token nor the API token is sent anywhere else: whatever listens on ``[api]``'s port while
    the desk is stopped is not the desk.
    """
    try:
        api_token = read_token(settings.config_dir)
    except OrderDeskError as exc:
        fail(f"the access token is stored, but the running desk cannot be reached: {exc}")
    base, why = _proven_desk(settings, url)
    if api_token is None or base is None:
        console.print(
            f"{why or 'No desk has run with this config yet'}: it reads the stored token when "
            "it starts.",
            highlight=False,
            soft_wrap=True,
        )
        return

    async def go() -> SessionOut | None:
        import aiohttp  # here alone: every other command starts without it

        timeout = aiohttp.ClientTimeout(
            total=HANDOVER_SECONDS, sock_connect=HANDOVER_CONNECT_SECONDS
        )
        async with DeskClient(base, api_token, timeout=timeout) as client:
            try:
                await client.health()
            except DeskAuthError:
                raise
            except (DeskClientError, pydantic.ValidationError):
                return None  # nothing listens there, or something that is not a desk
            return await client.renew_session(access_token)

    try:
        status = asyncio.run(go())
    except OrderDeskError as exc:
        fail(f"the access token is stored, but the desk running at {base} did not take it: {exc}")
    if status is None:
        console.print(
            f"The desk at {base} did not answer: it reads the stored token when it starts.",
            highlight=False,
            soft_wrap=True,
        )
        return
    if not status.usable:
        fail(
            f"the desk running at {base} took the token but has no usable session: {status.reason}"
        )
    day = (
        f"trading day {status.trading_day.isoformat()}"
        if status.trading_day
        else "no trading day kept"
    )
    until = when_text(status.expires_at) if status.expires_at else "the broker ends it"
    console.print(
        f"Handed to the running desk: {day}, session valid until {until}.",
        highlight=False,
        soft_wrap=True,
    )


def _proven_desk(settings: Settings, url: str | None) -> tuple[str | None, str | None]:
    """The address of the desk running on this config's event store, or None and why not: it
    must hold the store's lock, and have announced its address (or ``--url`` names it)."""
    from orderdesk.store.desk_lock import desk_holds  # here alone: login's path to the store

    if not desk_holds(settings.store_url):
        return None, "No desk is running with this config (none holds its event store)"
    if url is not None:
        return url, None
    announced = running_desk(settings.config_dir)
    if announced is None:
        return None, (
            "A desk holds this config's event store but announced no API address (pass "
            "--url to hand it the token)"
        )
    return announced.url, None


@app.command("logout", rich_help_panel="Setup")
def logout(
    config: ConfigOption = None,
    api_key: ApiKeyOption = None,
    api_root: ApiRootOption = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Only delete the stored token; do not tell the broker."),
    ] = False,
) -> None:
    """End the stored session at the broker and delete its access token."""
    target = _Target(config, api_key, api_root)
    store = target.store
    try:
        token = store.get(target.access_token)
    except OrderDeskError as exc:
        fail(str(exc))
    if token is None:
        console.print("Not logged in: no stored access token.")
        return
    note = ""
    if not local:
        try:
            asyncio.run(target.flow.end_session(token))
        except BrokerAuthError:
            note = f" ({target.broker} had already ended that session)"
        except BrokerTransportError as exc:
            fail(
                f"{exc}; the token is kept so you can retry "
                "(or use --local to only forget it; the session ends on its own anyway)"
            )
        except OrderDeskError as exc:
            fail(str(exc))
    try:
        store.delete(target.access_token)
    except OrderDeskError as exc:
        fail(str(exc))
    console.print(
        f"Logged out{note}; the stored access token is deleted.", highlight=False, soft_wrap=True
    )


async def _await_redirect(flow: LoginFlow, port: int, wait_seconds: float, no_browser: bool) -> str:
    url = flow.login_url()
    callback = flow.redirect_catcher(port)
    try:
        await callback.start()
    except OSError as exc:
        raise OrderDeskError(
            f"cannot listen on 127.0.0.1:{port} for the login redirect ({exc.strerror}); "
            "free the port, or log in and pass the address with --redirect-url"
        ) from None
    try:
        # The server is up before the browser opens, so the redirect cannot arrive too early.
        console.print(f"Log in at:\n  {url}", highlight=False, soft_wrap=True)
        if not no_browser:
            webbrowser.open(url)
        console.print(
            f"Waiting for the redirect on {callback.url} …", highlight=False, soft_wrap=True
        )
        try:
            async with asyncio.timeout(wait_seconds):
                return await callback.wait()
        except TimeoutError:
            raise OrderDeskError(
                f"no login redirect reached {callback.url} within {wait_seconds:.0f}s; check "
                "that the broker app's redirect URL points there, or use --redirect-url"
            ) from None
    finally:
        await callback.close()


def _run(coroutine: Coroutine[Any, Any, LoginSession]) -> LoginSession:
    try:
        result: LoginSession = asyncio.run(coroutine)
    except OrderDeskError as exc:
        fail(str(exc))
    return result


__all__ = ["login", "logout"]
