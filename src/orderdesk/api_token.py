"""The HTTP API's bearer token: generated once, kept in a 0600 file in the config directory.

The token is the only thing standing between a local process and the order desk, so it is
created with ``secrets.token_urlsafe`` (256 bits), written with owner-only permissions from the
first byte (``os.open`` with mode 0600, not chmod after the fact), and refused when the file is
readable by others — a leaked token is worse than a desk that will not start.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from orderdesk.errors import ConfigError

TOKEN_FILE_NAME = "api-token"  # noqa: S105 - a file name, not a secret
TOKEN_BYTES = 32


def token_path(config_dir: Path) -> Path:
    """Where the token lives for this config directory."""
    return config_dir / TOKEN_FILE_NAME


def read_token(config_dir: Path) -> str | None:
    """The stored token, or ``None`` when none has been generated yet."""
    path = token_path(config_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} is accessible by other users (mode {stat.filemode(mode)}); "
            f"run `chmod 600 {path}` or delete it to generate a new token"
        )
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ConfigError(f"{path} is empty; delete it to generate a new token")
    return token


def load_or_create_token(config_dir: Path) -> str:
    """The API token, generating and storing one (0600) on first use."""
    existing = read_token(config_dir)
    if existing is not None:
        return existing
    return _write_new(config_dir, exclusive=True)


def rotate_token(config_dir: Path) -> str:
    """Replace the stored token with a fresh one (every client must be given the new one)."""
    return _write_new(config_dir, exclusive=False)


def _write_new(config_dir: Path, *, exclusive: bool) -> str:
    config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = token_path(config_dir)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    if not exclusive:
        path.unlink(missing_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it between our read and write: use theirs, not a second one.
        existing = read_token(config_dir)
        if existing is None:
            raise
        return existing
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


__all__ = [
    "TOKEN_FILE_NAME",
    "load_or_create_token",
    "read_token",
    "rotate_token",
    "token_path",
]
