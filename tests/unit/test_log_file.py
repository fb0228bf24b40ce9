"""The optional log file: the same redacted records as stderr, as JSON lines, 0600, rotated."""

from __future__ import annotations

import io
import json
import logging
import stat
from logging.handlers import RotatingFileHandler
from pathlib import Path

from orderdesk.config import Settings
from orderdesk.logging import (
    LOG_FILE_BACKUPS,
    LOG_FILE_BYTES,
    configure_logging,
    get_logger,
    register_secret,
)

SECRET = "apisecret-file-0f9e8d7c"


def test_the_log_file_holds_redacted_json_lines(tmp_path: Path, restored: None) -> None:
    """Records go to the file as JSON lines as well as to the stream, secrets masked; the file
    is created 0600 and rotates at the documented size."""
    path = tmp_path / "logs" / "desk.log"
    register_secret(SECRET)
    configure_logging("INFO", stream=io.StringIO(), file=path)
    get_logger("orderdesk.test").info("session.started", token=SECRET)
    logging.getLogger("aiohttp.client").warning("sent %s", SECRET)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert SECRET not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["event"] for r in records] == ["session.started", "sent ***"]
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
    assert (handler.maxBytes, handler.backupCount) == (LOG_FILE_BYTES, LOG_FILE_BACKUPS)


def test_reconfiguring_replaces_the_log_file(tmp_path: Path, restored: None) -> None:
    """Configuring again closes the previous file handler instead of adding a second one."""
    configure_logging("INFO", stream=io.StringIO(), file=tmp_path / "a.log")
    configure_logging("INFO", stream=io.StringIO(), file=tmp_path / "b.log")
    files = [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]
    assert [Path(h.baseFilename).name for h in files] == ["b.log"]


def test_a_relative_log_file_is_taken_inside_the_data_dir(tmp_path: Path) -> None:
    """`log_file = "desk.log"` means <data_dir>/desk.log; an absolute path stays as given."""
    relative = Settings(data_dir=tmp_path, log_file=Path("desk.log"))
    assert relative.log_path == tmp_path / "desk.log"
    absolute = Settings(data_dir=tmp_path, log_file=tmp_path / "elsewhere.log")
    assert absolute.log_path == tmp_path / "elsewhere.log"
    assert Settings(data_dir=tmp_path).log_path is None
