"""``[engine] resend_within_seconds``: read from the file, handed to the engine, and refused
with the key named when out of range."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderdesk.config import load_settings
from orderdesk.engine.config import DeskConfig
from orderdesk.errors import ConfigError
from orderdesk.runtime import desk_config

pytestmark = pytest.mark.usefixtures("isolated_config")


def test_the_default_bound_is_a_minute() -> None:
    """Without the key an interrupted placement is sent again within 60 s of its intent, as
    the engine's own default says."""
    assert load_settings().engine.resend_within_seconds == 60.0
    assert DeskConfig().resend_within == 60.0


def test_the_key_reaches_the_engine(tmp_path: Path) -> None:
    """The file's value becomes the engine's bound."""
    (tmp_path / "orderdesk.toml").write_text("[engine]\nresend_within_seconds = 90\n")
    assert desk_config(load_settings().engine).resend_within == 90.0


@pytest.mark.parametrize("value", ["0", "-5", "3601", '"soon"'])
def test_bad_values_name_the_key(tmp_path: Path, value: str) -> None:
    """No bound at all, a negative one, over an hour, or not a number: refused, naming it."""
    (tmp_path / "orderdesk.toml").write_text(f"[engine]\nresend_within_seconds = {value}\n")
    with pytest.raises(ConfigError) as exc_info:
        load_settings()
    assert "engine.resend_within_seconds" in str(exc_info.value)
