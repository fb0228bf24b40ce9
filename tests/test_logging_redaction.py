"""Log redaction: registered secrets and credential-shaped fields never reach a log sink."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from orderdesk.logging import (
    configure_logging,
    forget_secrets,
    get_logger,
    redact,
    register_secret,
)
from tests.support import json_logs

SECRET = "apisecret-7c1f0e9d2b"
TOKEN = "accesstoken-5a5b5c5d5e"


@pytest.fixture
def sink() -> Iterator[io.StringIO]:
    """Logging configured at DEBUG into a buffer; the root logger and structlog restored after."""
    register_secret(SECRET)
    register_secret(TOKEN)
    with json_logs() as buffer:
        yield buffer


def test_registered_secret_is_masked_in_stdlib_records(
    sink: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """A stdlib log call with a secret in its args is clean in caplog and in the handler output."""
    logging.getLogger("aiohttp.client").debug("sending %s with %r", SECRET, {"t": TOKEN})

    assert "***" in caplog.text
    assert SECRET not in caplog.text
    assert TOKEN not in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    output = sink.getvalue()
    assert "sending ***" in output
    assert SECRET not in output
    assert TOKEN not in output


def test_structlog_event_values_are_masked_recursively(
    sink: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """Secrets inside event text, nested dicts, lists and arbitrary objects are masked."""

    class Holder:
        def __repr__(self) -> str:
            return f"Holder({TOKEN})"

    get_logger("orderdesk.test").info(
        f"login with {SECRET}",
        headers={"Authorization": f"token key:{TOKEN}"},
        tokens=[TOKEN, "plain"],
        holder=Holder(),
    )

    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    event = next(line for line in lines if line.get("logger") == "orderdesk.test")
    assert event["event"] == "login with ***"
    assert event["headers"] == {"Authorization": "token ***"}
    assert event["tokens"] == ["***", "plain"]
    assert event["holder"] == "Holder(***)"
    assert TOKEN not in caplog.text
    assert SECRET not in caplog.text


def test_exception_tracebacks_are_masked(
    sink: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    """A traceback whose message holds a secret is masked in both structlog and stdlib output."""
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        logging.getLogger("stdlib.side").exception("failed")
        get_logger("structlog.side").exception("failed too")

    output = sink.getvalue()
    assert output.count("RuntimeError: bad token ***") == 2
    assert TOKEN not in output
    assert TOKEN not in caplog.text
    assert all(TOKEN not in (r.exc_text or "") for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: token kitekey:abcdEF123", "Authorization: token ***"),
        ("{'Authorization': 'token kitekey:abcdEF123'}", "{'Authorization': 'token ***'}"),
        (
            "DELETE /session/token?api_key=k&access_token=zzz999 HTTP/1.1",
            "DELETE /session/token?api_key=k&access_token=*** HTTP/1.1",
        ),
        ("api_key=k&request_token=rt1&checksum=abc", "api_key=k&request_token=***&checksum=***"),
        (
            '{"access_token": "zzz999", "user_id": "AB1"}',
            '{"access_token": "***", "user_id": "AB1"}',
        ),
        ("nothing secret here, token count 3", "nothing secret here, token count 3"),
    ],
)
def test_credential_shapes_are_masked_without_registration(text: str, expected: str) -> None:
    """Header values, query/form params and JSON keys that carry credentials are always masked."""
    assert redact(text) == expected


def test_short_values_are_not_registered() -> None:
    """Values shorter than six characters are ignored rather than shredding ordinary text."""
    register_secret("abc")

    assert redact("abc abcdef") == "abc abcdef"
    forget_secrets()


def test_url_encoded_form_of_a_secret_is_masked() -> None:
    """A secret with reserved characters is masked in its percent-encoded form too."""
    register_secret("p@ss/w0rd+x")

    assert redact("secret=p%40ss%2Fw0rd%2Bx;raw=p@ss/w0rd+x") == "secret=***;raw=***"
    forget_secrets()


def test_a_secret_is_masked_whatever_its_letter_case() -> None:
    """A Kite-shaped access token upper-cased (the bot's /keep did so) or lower-cased is the
    same leak, and is masked as the token itself is."""
    token = "4a5f9c0e1bT2d3a4F5e6d7c8b9a0f1e2"
    register_secret(token)

    text = f"NSE:{token.upper()} nse:{token.lower()} {token}"
    assert redact(text) == "NSE:*** nse:*** ***"
    forget_secrets()


def test_reconfiguring_replaces_the_handler(sink: io.StringIO) -> None:
    """Calling configure_logging twice leaves one orderdesk handler, writing to the new stream."""
    second = io.StringIO()
    configure_logging("INFO", json=False, stream=second)
    logging.getLogger("x").info("hello %s", SECRET)

    assert sink.getvalue() == ""
    assert "hello ***" in second.getvalue()
    assert SECRET not in second.getvalue()
    assert (
        len([h for h in logging.getLogger().handlers if type(h).__name__ == "_OrderdeskHandler"])
        == 1
    )
