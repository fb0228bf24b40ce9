"""Settling the collector after start-up: survivors frozen, young collections less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from orderdesk.heap import YOUNG_THRESHOLD, settle_after_start


@pytest.fixture
def collector() -> Iterator[None]:
    """Leave the collector as the test found it: the settings are process-wide."""
    threshold = gc.get_threshold()
    frozen = gc.get_freeze_count()
    yield
    if not frozen:
        gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_freezes_what_lives_and_spaces_young_collections(collector: None) -> None:
    """Objects alive at start-up leave the collector's view; later garbage is still collected."""
    long_lived = [[i] for i in range(1000)]
    settle_after_start()
    assert gc.get_freeze_count() >= len(long_lived)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # made after settling: still the collector's to free
