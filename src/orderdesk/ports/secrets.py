"""Where credentials live. Implementations: environment, OS keyring, a 0600 file."""

from __future__ import annotations

from typing import Protocol


class SecretStore(Protocol):
    """Named secrets, e.g. ``kite.api_secret`` and ``kite.access_token``.

    Values are returned to the caller only; implementations never log them.
    """

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


__all__ = ["SecretStore"]
