"""A secret store that holds nothing: the paper broker asks it for nothing, and a test that
builds a broker through ``create_broker`` needs one."""

from __future__ import annotations


class NoSecrets:
    def get(self, name: str) -> str | None:
        return None

    def set(self, name: str, value: str) -> None:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError
