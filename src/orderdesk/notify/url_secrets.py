"""The secret parts of an apprise URL, for the log redaction, and a name for it safe to log.

An apprise URL is a credential more often than not, and not only where a password goes: a
Discord or Slack webhook's token is a path segment, a Telegram bot token is the host, a
``json://`` hook's secret is whatever path its server checks. apprise's own debug lines and
those of the HTTP libraries under it (urllib3's "Max retries exceeded with url: /hooks/…")
carry these URLs, so every part that may be a secret is registered with
:func:`~orderdesk.redaction.register_secret` before apprise sees the URL.

Two ways find them, and both are used:

- the shape of the URL (:func:`url_secrets`): the password; a host that is no host name (an
  apprise plugin's token or id); path segments and query values that look like tokens (long,
  or letters mixed with digits), and the value of any query parameter named like a credential;
- apprise's own knowledge (:func:`private_parts`): what its ``url(privacy=True)`` masks that
  the raw ``url()`` shows, which knows each plugin's secret fields.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from orderdesk.redaction import MASK, register_secret

_CREDENTIAL_NAME = re.compile(
    r"(?i)token|key|secret|pass|pwd|auth|sig|hook|bearer|session|cred|code|apikey"
)
_SEPARATORS = re.compile(r"[/:@?&=#,;+\s]+")
_HOST_NAME = re.compile(r"(?i)^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|\[[0-9a-f:.]+\])$")
_PLAIN_WORD = re.compile(r"^[a-z]+(-[a-z]+)*$")


def looks_secret(part: str) -> bool:
    """Whether a URL part is token-shaped: letters mixed with digits (8 or more characters),
    mixed-case letters (12 or more), or anything of 20 or more but a plain word."""
    if len(part) < 8:
        return False
    has_digit = any(c.isdigit() for c in part)
    has_alpha = any(c.isalpha() for c in part)
    if has_digit and has_alpha:
        return True
    if len(part) >= 12 and any(c.isupper() for c in part) and any(c.islower() for c in part):
        return True
    return len(part) >= 20 and not _PLAIN_WORD.match(part)


def url_secrets(url: str) -> set[str]:
    """The parts of ``url`` that are or may be secrets, by its shape alone (no apprise)."""
    found: set[str] = set()
    rest = url.partition("://")[2]
    if not rest:
        return found
    # Not urlsplit's netloc parsing: apprise hosts are often tokens with colons in them
    # (tgram://123456:AA…/chat), which urlsplit's port parsing refuses.
    netloc, path, query = _split(rest)
    userinfo, _, host = netloc.rpartition("@")
    if userinfo:
        user, _, password = userinfo.partition(":")
        found.add(password)
        if looks_secret(user):
            found.add(user)
    name = host.rpartition(":")[0] if _is_port(host) else host
    if name and not _HOST_NAME.match(name):
        # No host name: the plugin's token or id (a bot token, a webhook id, a topic).
        found.update(p for p in _SEPARATORS.split(unquote(name)) if p)
        found.add(name)
    for segment in path.split("/"):
        plain = unquote(segment)
        if looks_secret(plain) or looks_secret(segment):
            found.update((segment, plain))
    for key, value in parse_qsl(query, keep_blank_values=False):
        if _CREDENTIAL_NAME.search(key) or looks_secret(value):
            found.add(value)
    return {part for part in found if part}


def private_parts(raw: str, private: str) -> set[str]:
    """What apprise's private form of a URL hides: the parts of ``raw`` not in ``private``."""
    shown = set(_SEPARATORS.split(unquote(private)))
    return {part for part in _SEPARATORS.split(unquote(raw)) if part and part not in shown}


def register_url_secrets(url: str, plugin: Any | None = None) -> None:
    """Register every secret-looking part of ``url`` (and, given apprise's ``plugin`` for it,
    what that plugin's private form masks) with the log redaction."""
    parts = url_secrets(url)
    if plugin is not None:
        # A plugin's url() is its own business: should it fail, the shape above stands.
        with contextlib.suppress(Exception):
            parts |= private_parts(str(plugin.url()), str(plugin.url(privacy=True)))
    _register(parts)


def _register(parts: Iterable[str]) -> None:
    for part in parts:
        register_secret(part)


def target_name(index: int, url: str) -> str:
    """How a log line or the health page names the ``index``-th alert URL: its place in
    ``[alerts] urls``, its scheme and its host when that is a host name, never a token."""
    scheme, _, rest = url.partition("://")
    netloc, _, _ = _split(rest)
    host = netloc.rpartition("@")[2]
    name = host.rpartition(":")[0] if _is_port(host) else host
    shown = host if name and _HOST_NAME.match(name) else MASK
    return f"alerts.urls.{index} {scheme or '?'}://{shown}"


def _split(rest: str) -> tuple[str, str, str]:
    """``host…/path?query#fragment`` → netloc, path, query."""
    try:
        split = urlsplit("x://" + rest)
    except ValueError:  # an unbalanced "[": all of it may be secret
        netloc, _, path = rest.partition("/")
        return netloc, "/" + path, ""
    return split.netloc, split.path, split.query


def _is_port(host: str) -> bool:
    _, colon, port = host.rpartition(":")
    return bool(colon) and port.isdigit() and not host.endswith("]")


__all__ = [
    "looks_secret",
    "private_parts",
    "register_url_secrets",
    "target_name",
    "url_secrets",
]
