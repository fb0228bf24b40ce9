"""Shared fixtures: where the upstream Kite samples live, and a config isolated from the
machine's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

KITE_MOCKS = Path(__file__).resolve().parents[2] / "shared" / "kite-mocks"


@pytest.fixture
def kite_mocks() -> Path:
    """The folder of upstream Kite sample responses, read in place (never copied)."""
    if not KITE_MOCKS.is_dir():
        pytest.skip(f"Kite samples not found at {KITE_MOCKS}")
    return KITE_MOCKS


@pytest.fixture
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No config file, XDG folder or ``ORDERDESK_`` variable of the machine's reaches the test:
    it runs in its own folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in list(os.environ):
        if name.startswith("ORDERDESK_"):
            monkeypatch.delenv(name)
