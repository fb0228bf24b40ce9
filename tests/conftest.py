"""Shared fixtures: where the upstream Kite samples live, and small async helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

KITE_MOCKS = Path(__file__).resolve().parents[2] / "shared" / "kite-mocks"


@pytest.fixture
def kite_mocks() -> Path:
    """The folder of upstream Kite sample responses, read in place (never copied)."""
    if not KITE_MOCKS.is_dir():
        pytest.skip(f"Kite samples not found at {KITE_MOCKS}")
    return KITE_MOCKS
