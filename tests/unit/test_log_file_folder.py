"""The log file's folder: made before the desk makes its data_dir (often the same folder),
it is as private as the data_dir the desk makes."""

from __future__ import annotations

import io
import stat
from pathlib import Path

from orderdesk.config import Settings
from orderdesk.logging import configure_logging


def test_the_data_dir_a_log_file_in_it_makes_is_0700(tmp_path: Path, restored: None) -> None:
    """`log_file = "desk.log"` in a data_dir not there yet: `orderdesk run` opens the log
    before the desk makes its data_dir, and that folder, and any made above it, are 0700."""
    settings = Settings(data_dir=tmp_path / "perm" / "data", log_file=Path("desk.log"))
    assert settings.log_path is not None
    configure_logging("INFO", stream=io.StringIO(), file=settings.log_path)

    for folder in (tmp_path / "perm", tmp_path / "perm" / "data"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(settings.log_path.stat().st_mode) == 0o600


def test_an_existing_folder_keeps_its_mode(tmp_path: Path, restored: None) -> None:
    """A folder the user made is theirs: its mode is their choice, as for the data_dir."""
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    configure_logging("INFO", stream=io.StringIO(), file=folder / "desk.log")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
