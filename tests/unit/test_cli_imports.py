"""A CLI command talks to the daemon over HTTP: starting one must not load the engine, the web
app, the store or the simulator (each command paid 1.7 s for them; see orderdesk.lazy), nor
aiohttp and structlog (0.2 and 0.14 s: requests go over orderdesk.wire, and registering a
secret is orderdesk.redaction's, without structlog)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "orderdesk.engine.desk",
    "orderdesk.sim.app",
    "aiohttp",
    "structlog",
)


def test_registering_every_command_loads_none_of_the_daemons_parts() -> None:
    probe = (
        "import json, sys\n"
        "from orderdesk.cli import _register_commands\n"
        "_register_commands()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []
