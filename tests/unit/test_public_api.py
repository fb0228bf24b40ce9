"""The package's top level offers what strategy code needs, and nothing unknown."""

from __future__ import annotations

import pytest

import orderdesk


def test_everything_in_all_resolves() -> None:
    """Every name in ``orderdesk.__all__`` is importable from the package."""
    for name in orderdesk.__all__:
        assert getattr(orderdesk, name) is not None


def test_unknown_names_raise_attribute_error() -> None:
    """A typo is an AttributeError, not a silent None."""
    with pytest.raises(AttributeError) as exc_info:
        orderdesk.NoSuchThing  # noqa: B018 - the attribute access is the test
    assert "NoSuchThing" in str(exc_info.value)
