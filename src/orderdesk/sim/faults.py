"""Switchable faults, set through ``POST /_sim/faults``; every random draw uses one seeded RNG.

Probabilities are in [0, 1]; "same seed → same run" holds because nothing else draws from
:attr:`Faults.rng` in a different order for the same sequence of requests. A switch that is off
draws nothing, so turning a new fault on never changes what an old seed does without it.

Two faults reproduce Kite's slow order path (KITE_API.md §14.2): ``ambiguous_timeout`` answers a
placement 400 ``InputException`` "Order request timed out…" and creates the order only later
(after a seeded delay of up to ``ambiguous_delay_max_ms`` on the simulated clock), or, for the
``ambiguous_timeout_drop`` share of them, never; ``slow_validation_ms`` keeps every new order in
``PUT ORDER REQ RECEIVED`` that long before Kite's RMS looks at it. A third is a slow answer:
``slow_placement_ms`` holds a placement that long before the order is created and answered, so a
client whose own timeout is shorter sees no reply while the order still appears.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from typing import Any

_DURATIONS = frozenset(
    {
        "latency_ms",
        "update_delay_ms",
        "ambiguous_delay_max_ms",
        "slow_validation_ms",
        "slow_placement_ms",
    }
)
"""Switches that are a length of time (milliseconds, ≥ 0); every other number is a probability."""


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """What one ``ambiguous_timeout`` draw decided: the order appears ``delay`` seconds after
    the 400 (on the simulated clock), or never (``delay`` is ``None``)."""

    delay: float | None


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
    ambiguous_timeout: float = 0.0
    """Probability that a placement is answered HTTP 400 InputException "Order request timed
    out. Please check the order book." while the order is created only later (Kite, §14.2)."""
    ambiguous_timeout_drop: float = 0.0
    """Share of the ``ambiguous_timeout`` placements whose order is never created (1 = all)."""
    ambiguous_delay_max_ms: float = 10_000.0
    """Upper bound of the seeded delay (uniform from 0) before an ambiguous order appears."""
    slow_validation_ms: float = 0.0
    """How long a new order stays in PUT ORDER REQ RECEIVED before validation (Kite's users have
    seen 1.5 minutes); the placement's reply does not wait for it."""
    slow_placement_ms: float = 0.0
    """How long Kite's OMS takes to take a placement: the order is created, and the reply
    sent, only then, on real time. A client that stopped waiting sooner still gets the order,
    with no answer to tell it (an order seen "seconds later", §14.2)."""
    rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def roll(self, probability: float) -> bool:
        """Draw once from the seeded RNG: True with ``probability``."""
        return probability > 0.0 and self.rng.random() < probability

    def roll_ambiguous(self) -> Ambiguity | None:
        """Whether this placement gets the ambiguous 400, and if so when its order appears.

        Draws nothing while ``ambiguous_timeout`` is off; otherwise one draw, and for a hit one
        more for the drop and one for the delay (in that order, so a seed replays exactly)."""
        if not self.roll(self.ambiguous_timeout):
            return None
        if self.roll(self.ambiguous_timeout_drop):
            return Ambiguity(delay=None)
        return Ambiguity(delay=self.rng.uniform(0.0, self.ambiguous_delay_max_ms) / 1000)

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
            elif key not in _DURATIONS and not 0.0 <= float(value) <= 1.0:
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
