"""A running desk announces its API address beside its token; clients find it there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orderdesk.client import DeskUnavailable, desk_url
from orderdesk.config import Settings, TradingDaySettings
from orderdesk.desk_address import address_path, announce, running_desk
from orderdesk.runtime import open_runtime


def finished_pid() -> int:
    """The id of a process that has already ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def paper_settings(tmp_path: Path, **more: object) -> Settings:
    return Settings(
        broker="paper",
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        trading_day=TradingDaySettings(enabled=False),
        **more,  # type: ignore[arg-type]
    )


def test_announcement_is_read_while_the_desk_runs_and_withdrawn_after(tmp_path: Path) -> None:
    """Inside the block clients read the announced address; after it, none is left."""
    with announce(tmp_path, "http://127.0.0.1:40001") as mine:
        found = running_desk(tmp_path)
        assert found == mine
        assert found.pid == os.getpid()
        assert found.url == "http://127.0.0.1:40001"
    assert running_desk(tmp_path) is None
    assert not address_path(tmp_path).exists()


def test_announcement_of_a_dead_desk_is_ignored(tmp_path: Path) -> None:
    """A file left by a desk that was killed names a pid that is gone: it is not believed, and
    clients say no desk is running rather than send the API token to [api]'s port (whatever
    listens there is not the desk)."""
    address_path(tmp_path).write_text(
        json.dumps({"url": "http://127.0.0.1:1", "pid": finished_pid()})
    )
    settings = paper_settings(tmp_path).model_copy(update={"config_dir": tmp_path})

    assert running_desk(tmp_path) is None
    with pytest.raises(DeskUnavailable, match="no desk is running with this config"):
        desk_url(settings)


def test_garbage_in_the_file_is_no_announcement(tmp_path: Path) -> None:
    """A half-written or foreign file is ignored, not an error."""
    address_path(tmp_path).write_text("{not json")
    assert running_desk(tmp_path) is None


def test_a_later_desk_leaving_gives_the_earlier_one_its_announcement_back(tmp_path: Path) -> None:
    """Two desks on one config dir: while the second runs it is the one announced; when it
    stops, the first (still running) is announced again."""
    parent = os.getppid()  # alive for the whole test, and not this process
    earlier = {"url": "http://127.0.0.1:40002", "pid": parent}
    address_path(tmp_path).write_text(json.dumps(earlier))

    with announce(tmp_path, "http://127.0.0.1:40003"):
        assert running_desk(tmp_path).url == "http://127.0.0.1:40003"  # type: ignore[union-attr]
    restored = running_desk(tmp_path)

    assert restored is not None
    assert (restored.url, restored.pid) == ("http://127.0.0.1:40002", parent)


async def test_a_desk_serving_the_api_announces_its_port_of_the_systems_choice(
    tmp_path: Path,
) -> None:
    """With [api] port = 0, the address clients of the config dir use is the bound one."""
    settings = paper_settings(tmp_path).model_copy(
        update={"api": Settings().api.model_copy(update={"port": 0})}
    )
    async with open_runtime(settings) as runtime:
        assert runtime.api is not None
        assert desk_url(settings) == runtime.api.url
    assert running_desk(settings.config_dir) is None
