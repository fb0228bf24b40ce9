"""The API token file: generated once, owner-only, refused when others can read it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from orderdesk.api_token import load_or_create_token, read_token, rotate_token, token_path
from orderdesk.errors import ConfigError


def test_first_load_creates_an_owner_only_token(tmp_path: Path) -> None:
    """The first call writes a long random token with mode 0600 and returns it."""
    config_dir = tmp_path / "config"
    token = load_or_create_token(config_dir)
    assert len(token) >= 40
    mode = token_path(config_dir).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert read_token(config_dir) == token


def test_later_loads_return_the_same_token(tmp_path: Path) -> None:
    """The token is stable across restarts until rotated."""
    first = load_or_create_token(tmp_path)
    assert load_or_create_token(tmp_path) == first
    rotated = rotate_token(tmp_path)
    assert rotated != first
    assert load_or_create_token(tmp_path) == rotated


def test_read_before_creation_is_none(tmp_path: Path) -> None:
    """Showing the token before the first run says there is none instead of making one."""
    assert read_token(tmp_path) is None
    assert not token_path(tmp_path).exists()


def test_a_world_readable_token_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """A token file others can read stops the desk, and the error does not contain the token."""
    token = load_or_create_token(tmp_path)
    token_path(tmp_path).chmod(0o644)
    with pytest.raises(ConfigError) as exc_info:
        load_or_create_token(tmp_path)
    assert "chmod 600" in str(exc_info.value)
    assert token not in str(exc_info.value)
