"""Packages whose exports load when first used (PEP 562), so importing one module of a package
does not load all of it: every CLI command imports the API's schemas and the settings, and
loading the whole engine and app with them cost each command most of its start-up time."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """``package``'s module ``__getattr__``: each name in ``homes`` from the module named there."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home), name)

    return __getattr__


__all__ = ["exports"]
