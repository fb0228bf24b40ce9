"""Where a running desk's API answers, for clients that share its config directory.

A desk's bearer token lives in its config directory (:mod:`orderdesk.api_token`); a client
reading that token also needs the address of the desk that holds it, which ``[api]`` in the
config does not always give: ``port = 0`` lets the system choose, and ``orderdesk demo
--port`` picks its own. So a desk that serves the API *announces* the address it actually bound
in ``<config_dir>/api-address``, beside the token, with its process id, and removes the file when
it stops. The CLI and :meth:`orderdesk.DeskClient.from_settings` read it first and fall back to
``[api]``.

The file holds no secret (an address and a pid), and a client still sends the token only to an
address on this machine that a desk of this config directory announced or the config names. A
file left behind by a desk that died (its pid is gone) is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ADDRESS_FILE_NAME = "api-address"


@dataclass(frozen=True, slots=True)
class Announcement:
    """A running desk's API address and its process."""

    url: str
    pid: int


def address_path(config_dir: Path) -> Path:
    """Where the address of this config directory's running desk is announced."""
    return config_dir / ADDRESS_FILE_NAME


def running_desk(config_dir: Path) -> Announcement | None:
    """The announcement of a desk still running with this config directory, if any."""
    try:
        raw = json.loads(address_path(config_dir).read_text(encoding="utf-8"))
        found = Announcement(url=str(raw["url"]), pid=int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none, half-written or not ours: the config's address is the fallback
    return found if _alive(found.pid) else None


@contextlib.contextmanager
def announce(config_dir: Path, url: str) -> Iterator[Announcement]:
    """Announce ``url`` as this process's desk until the block ends.

    The file is replaced atomically, so a reader sees the old announcement or the new one. On
    exit it is touched only if it is still this process's: then a desk announced before this
    one and still running gets its announcement back, else the file is removed.
    """
    mine = Announcement(url=url, pid=os.getpid())
    earlier = running_desk(config_dir)
    _write(config_dir, mine)
    try:
        yield mine
    finally:
        if running_desk(config_dir) == mine:
            if earlier is not None and _alive(earlier.pid):
                _write(config_dir, earlier)
            else:
                with contextlib.suppress(FileNotFoundError):
                    address_path(config_dir).unlink()


def _write(config_dir: Path, announcement: Announcement) -> None:
    config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".api-address-", dir=config_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"url": announcement.url, "pid": announcement.pid}, handle)
        os.replace(tmp, address_path(config_dir))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    return True


__all__ = ["ADDRESS_FILE_NAME", "Announcement", "address_path", "announce", "running_desk"]
