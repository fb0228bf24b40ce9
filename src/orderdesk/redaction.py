"""Secrets out of text: the values registered with :func:`register_secret` and credential-shaped
fields become ``***``.

The redaction that :mod:`orderdesk.logging` applies to every log line, kept apart from it so
that the code which registers a secret (the secret stores, the CLI's desk client, the Kite
adapter) does not import structlog to do so: the CLI's client commands load neither it nor its
console renderer (about 140 ms of a command's start, measured with ``python -X importtime``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from urllib.parse import quote

MASK = "***"

MIN_SECRET_LENGTH = 6
"""Shorter values are not registered: they would shred ordinary words, and are not real keys."""

_CREDENTIAL_KEYS = (
    "access_token",
    "api_secret",
    "request_token",
    "refresh_token",
    "public_token",
    "enctoken",
    "checksum",
    "bot_token",
)
_KEYS = "|".join(_CREDENTIAL_KEYS)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: token api_key:access_token  (header line, dict repr or JSON)
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?\s*token\s+)[^\s'\",}]+"), r"\1" + MASK),
    # the bare header value, e.g. a headers dict whose key was not rendered with it
    (re.compile(r"\b(token\s+)[\w.-]+:[^\s'\",}]+"), r"\1" + MASK),
    # access_token=…  in URLs, form bodies and reprs of them
    # (not a Secret's own repr, which is already masked: "access_token=Secret('***')")
    (re.compile(rf"(?i)(\b(?:{_KEYS})=)(?!Secret\(|\*\*\*)[^&\s'\",)]+"), r"\1" + MASK),
    # https://api.telegram.org/bot123456:AA…/getUpdates  (the Bot API puts the token in the path)
    (re.compile(r"(/bot)\d+:[\w-]+"), r"\1" + MASK),
    # "access_token": "…"  in JSON and dict reprs
    (re.compile(rf"(?i)(['\"](?:{_KEYS})['\"]\s*:\s*['\"])[^'\"]*"), r"\1" + MASK),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None


def register_secret(value: str) -> None:
    """Mask ``value`` (and its URL-encoded form), in any letter case, wherever it appears in a
    log from now on."""
    global _secret_pattern
    if len(value) < MIN_SECRET_LENGTH:
        return
    forms = {value, quote(value, safe="")}
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        # Longest first, so a secret that contains another is masked whole. Whatever the
        # letter case: a token is as good a leak upper-cased (the bot's /keep echoed one so).
        alternation = "|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True))
        _secret_pattern = re.compile(alternation, re.IGNORECASE)


def forget_secrets() -> None:
    """Drop every registered value (tests only: real processes keep them for their lifetime)."""
    global _secret_pattern
    with _lock:
        _secrets.clear()
        _secret_pattern = None


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-shaped fields replaced by ``***``."""
    # Shapes first: "token key:<secret>" then collapses to "token ***" as a whole.
    for shape, replacement in _PATTERNS:
        text = shape.sub(replacement, text)
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return text


def redact_value(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    # Anything else would be rendered with repr() later; render it now so it can be cleaned.
    return redact(repr(value))


__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "forget_secrets",
    "redact",
    "redact_value",
    "register_secret",
]
