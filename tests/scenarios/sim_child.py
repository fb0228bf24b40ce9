"""A simulator in its own process, so that it outlives an engine killed with SIGKILL.

``python -m tests.scenarios.sim_child SEED`` serves on 127.0.0.1 (port 0, rate limits off,
prices still) and prints one JSON line — the :class:`~tests.scenarios.harness.SimAddress` —
once it is ready; it serves until its stdin closes or it is killed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict

from tests.scenarios.harness import running_sim


async def serve(seed: int) -> None:
    async with running_sim(seed=seed, rate_limits=False) as (_, address):
        print(json.dumps(asdict(address)), flush=True)
        loop = asyncio.get_running_loop()
        # Serve until the parent closes our stdin (or kills us): no orphan survives the test.
        await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
