"""An alert URL is a credential: its token never reaches a log line, even at DEBUG.

apprise logs every request's URL at DEBUG ("JSON POST URL: http://…/hooks/<token>") and urllib3
names the path when a connection fails, so the desk (a) keeps those libraries' loggers at
WARNING unless asked, and (b) registers every secret-looking part of each alert URL with the
log redaction before apprise sees it, which holds even when their DEBUG lines are let through.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from orderdesk.logging import configure_logging, forget_secrets
from orderdesk.notify import AppriseNotifier
from orderdesk.ports.notifier import Alert, Severity
from tests.notify.conftest import AlertSink, FakeClock

PATH_TOKEN = "PathSecret12345"
DEAD_TOKEN = "DeadHookToken98765"
HTTP_LOGGERS = ("apprise", "urllib3", "requests", "httpx")


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[tuple[io.StringIO, Path]]:
    """orderdesk's logging at DEBUG into a buffer and a log file; all of it restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    factory = logging.getLogRecordFactory()
    levels = {name: logging.getLogger(name).level for name in HTTP_LOGGERS}
    buffer = io.StringIO()
    yield buffer, tmp_path / "desk.log"
    for handler in [h for h in root.handlers if h not in handlers]:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, was in levels.items():
        logging.getLogger(name).setLevel(was)
    structlog.reset_defaults()
    forget_secrets()


def kill_switch() -> Alert:
    return Alert(severity=Severity.CRITICAL, title="Kill switch engaged", body="drill", key="k")


async def deliver_both(sink: AlertSink, clock: FakeClock) -> AppriseNotifier:
    """One alert to the recording sink at a path holding a token, and to a dead hook (nobody
    listens on port 9) whose path holds another: apprise logs both URLs, urllib3 the dead one."""
    hooked = sink.url.replace("/alerts", f"/hooks/{PATH_TOKEN}")
    dead = f"json://127.0.0.1:9/hooks/{DEAD_TOKEN}"
    async with AppriseNotifier([hooked, dead], clock=clock) as notifier:
        await notifier.notify(kill_switch())
        await notifier.drain()
    return notifier


async def test_alert_url_tokens_never_reach_the_debug_log(
    sink: AlertSink, clock: FakeClock, debug_log: tuple[io.StringIO, Path]
) -> None:
    """At DEBUG, with a log file, the tokens in both URLs' paths appear in neither; the alert
    arrived, and the dead hook's failure is logged by its place and host."""
    buffer, file = debug_log
    configure_logging("DEBUG", stream=buffer, file=file)

    notifier = await deliver_both(sink, clock)

    assert [m["title"] for m in sink.received] == ["[CRITICAL] Kill switch engaged"]
    for text in (buffer.getvalue(), file.read_text()):
        assert PATH_TOKEN not in text
        assert DEAD_TOKEN not in text
        assert "alerts.urls.1 json://127.0.0.1:9" in text
    assert (notifier.delivered, notifier.failed) == (1, 1)


async def test_the_http_libraries_debug_lines_are_redacted_when_let_through(
    sink: AlertSink, clock: FakeClock, debug_log: tuple[io.StringIO, Path]
) -> None:
    """Asked for (``http_debug``), apprise's and urllib3's DEBUG lines are logged, the URLs in
    them masked: the registration alone keeps the tokens out."""
    buffer, file = debug_log
    configure_logging("DEBUG", stream=buffer, file=file, http_debug=True)

    await deliver_both(sink, clock)

    text = buffer.getvalue()
    assert "JSON POST URL" in text  # apprise's DEBUG line with the URL is there…
    assert "/hooks/***" in text  # …its token masked
    assert "Starting new HTTP connection" in text  # urllib3's too
    for logged in (text, file.read_text()):
        assert PATH_TOKEN not in logged
        assert DEAD_TOKEN not in logged


def test_http_libraries_are_held_at_warning_by_default(
    debug_log: tuple[io.StringIO, Path],
) -> None:
    """A DEBUG desk does not hear apprise, urllib3, requests or httpx below WARNING."""
    configure_logging("DEBUG", stream=debug_log[0])
    for name in HTTP_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        (
            "discord://112233445566/DiscordTokSecretAbcdefXYZ0123",
            {"112233445566", "DiscordTokSecretAbcdefXYZ0123"},
        ),
        (
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
            {"T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ"},
        ),
        ("json://127.0.0.1:18820/hooks/PathSecret12345", {"PathSecret12345"}),
        ("json://user:pass12345@example.org/x?token=qqqqqqqq", {"pass12345", "qqqqqqqq"}),
        ("tgram://123456789:AAbbccddeeffgghh/987", {"AAbbccddeeffgghh"}),
    ],
)
def test_every_secret_part_of_an_alert_url_is_found(url: str, secrets: set[str]) -> None:
    """Tokens in the host, the path, the password and the query; host names and ordinary
    words (``hooks``, ``example.org``) are not taken for secrets."""
    from orderdesk.notify.url_secrets import url_secrets

    found = url_secrets(url)
    assert secrets <= found
    assert not {"hooks", "127.0.0.1", "example.org", "x", "json"} & found


def test_a_target_is_named_by_place_and_host_never_by_token() -> None:
    from orderdesk.notify.url_secrets import target_name

    assert target_name(0, "json://127.0.0.1:18820/hooks/PathSecret12345") == (
        "alerts.urls.0 json://127.0.0.1:18820"
    )
    assert target_name(2, "tgram://123456789:AAbbccddeeffgghh/987") == "alerts.urls.2 tgram://***"
    assert target_name(1, "json://user:pw@example.org/x") == "alerts.urls.1 json://example.org"


async def test_a_failed_delivery_log_line_is_json_naming_the_target(
    clock: FakeClock, debug_log: tuple[io.StringIO, Path]
) -> None:
    """The failure line says which target failed (masked), as a structured field."""
    buffer, _ = debug_log
    configure_logging("INFO", json=True, stream=buffer)
    async with AppriseNotifier([f"json://127.0.0.1:9/hooks/{DEAD_TOKEN}"], clock=clock) as n:
        await n.notify(kill_switch())
        await n.drain()
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    [failed] = [line for line in lines if line.get("event") == "alerts.delivery_failed"]
    assert failed["target"] == "alerts.urls.0 json://127.0.0.1:9"
    assert DEAD_TOKEN not in buffer.getvalue()
