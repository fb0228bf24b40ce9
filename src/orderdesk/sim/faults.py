"""Switchable faults, set through ``POST /_sim/faults``; every random draw uses one seeded RNG.

Probabilities are in [0, 1]; "same seed → same run" holds because nothing else draws from
:attr:`Faults.rng` in a different order for the same sequence of requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class Faults:
    """The fault switches. All off by default."""

    latency_ms: float = 0.0
    """Added to every REST reply."""
    error_5xx: float = 0.0
    """Probability that a REST request is answered 503 NetworkException (nothing happens)."""
    rate_limit_storm: float = 0.0
    """Probability that a REST request is answered 429 regardless of the real limits."""
    lost_response: float = 0.0
    """Probability that a placement is executed but the connection closes before the reply."""
    ws_drop: float = 0.0
    """Probability, per broadcast frame, that the ticker closes a client's socket abruptly."""
    ws_drop_now: bool = False
    """One-shot switch: close every ticker socket at once, then reset to False."""
    update_delay_ms: float = 0.0
    """Delay before an order update is pushed (WebSocket and postback)."""
    update_duplicate: float = 0.0
    """Probability that an order update is pushed twice."""
    update_reorder: float = 0.0
    """Probability that an order update is held back and sent after the next one."""
    expire_tokens: bool = False
    """Switch: every access token is treated as expired (403 TokenException) while on."""
    partial_fill: float = 0.0
    """Fraction of an order's open quantity filled per matching pass; 0 = fill it all at once."""
    margin_exception: bool = False
    """Switch: insufficient funds answer 400 MarginException at placement instead of creating
    a REJECTED order (Kite does both, depending on where its RMS catches it)."""
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def roll(self, probability: float) -> bool:
        """Draw once from the seeded RNG: True with ``probability``."""
        return probability > 0.0 and self.rng.random() < probability

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON object of switches; unknown keys or wrong types raise ``ValueError``."""
        known = {f.name: f for f in fields(self) if f.name != "rng"}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, key)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"fault {key!r} takes true or false")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault {key!r} takes a number")
            elif key not in ("latency_ms", "update_delay_ms") and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"fault {key!r} is a probability in [0, 1]")
            elif float(value) < 0:
                raise ValueError(f"fault {key!r} must not be negative")
            setattr(self, key, value if isinstance(current, bool) else float(value))

    def as_dict(self) -> dict[str, Any]:
        """The switches as JSON-ready values (for ``GET /_sim/state``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "rng"}

    def reset(self, seed: int) -> None:
        """All switches off and the RNG reseeded."""
        for f in fields(self):
            if f.name != "rng":
                setattr(self, f.name, f.default)
        self.rng.seed(seed)
