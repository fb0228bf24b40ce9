"""A request that asks the broker for something (funds) and is refused the session ends the
desk's session at once, as a refusal of the desk's own calls does: `orderdesk funds` exited 5
("session invalid or expired") while `orderdesk session` still said valid until a poll or a
reconciliation ran into the refusal too."""

from __future__ import annotations

from orderdesk.engine import OrderDesk
from tests.api.conftest import engine_api
from tests.engine.conftest import FAST, settled
from tests.engine.fakes import FakeBroker, MemoryStore, RecordingNotifier


async def test_funds_refused_by_the_broker_end_the_session_at_once() -> None:
    broker = FakeBroker()
    async with OrderDesk(broker, MemoryStore(), notifier=RecordingNotifier(), config=FAST) as desk:
        await settled(desk)
        async with engine_api(desk) as client:
            async with client.get("/api/session") as response:
                assert (await response.json())["usable"] is True
            broker.token_dead = True
            async with client.get("/api/funds") as response:
                assert response.status == 503
                assert (await response.json())["error"] == "broker_session"
            async with client.get("/api/session") as response:
                session = await response.json()
    assert (session["state"], session["usable"]) == ("refused", False)
    assert "reading funds: Token expired" in session["reason"]
