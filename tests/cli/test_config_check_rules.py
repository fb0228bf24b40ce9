"""`orderdesk config check` shows what the broker's 2026 order rules will see: the address
orders leave from and the algo id each strategy's placements carry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderdesk.cli import _register_commands, app

pytestmark = pytest.mark.usefixtures("isolated_config")


def _check(tmp_path: Path, kite: str, strategies: str = "") -> dict[str, str]:
    _register_commands()
    config = tmp_path / "orderdesk.toml"
    config.write_text(
        f'broker = "kite"\ndata_dir = "{tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n'
        f'[kite]\napi_key = "key1"\n{kite}\n{strategies}'
    )
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, str] = json.loads(result.output)
    return summary


def test_the_source_address_and_the_algo_ids_in_force_are_shown(tmp_path: Path) -> None:
    summary = _check(
        tmp_path,
        'source_address = "127.0.0.2"\nip_family = "ipv4"\nalgo_id = "ALGO-DESK"',
        '[strategies.momo]\nalgo_id = "ALGO-MOMO"\n[strategies.plain]\napproval = false\n',
    )
    assert summary["source_address"] == "127.0.0.2 (ipv4)"
    assert summary["algo_id"] == "ALGO-DESK; strategies' own: momo ALGO-MOMO"


def test_without_them_the_check_says_what_happens(tmp_path: Path) -> None:
    summary = _check(tmp_path, "")
    # With the family orders keep to (README: "with its family"), the default one too.
    assert summary["source_address"] == "not set: the system's choice (ipv4)"
    assert summary["algo_id"] == "none sent"


def test_the_environment_overrides_the_file_as_the_desk_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERDESK_KITE__SOURCE_ADDRESS", "127.0.0.3")
    summary = _check(tmp_path, 'source_address = "127.0.0.2"')
    assert summary["source_address"] == "127.0.0.3 (ipv4)"


def test_a_holiday_file_that_cannot_be_read_fails_the_check_as_it_fails_run(
    tmp_path: Path,
) -> None:
    """`config check` said "configuration OK" for a file `orderdesk run` then refused."""
    _register_commands()
    config = tmp_path / "orderdesk.toml"
    missing = tmp_path / "holidays-2027.txt"
    config.write_text(
        f'broker = "paper"\ndata_dir = "{tmp_path / "data"}"\n'
        f'config_dir = "{tmp_path / "conf"}"\n'
        f'[trading_day]\nholidays_file = "{missing}"\n'
    )
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert f"cannot read the holiday file {missing}" in result.output
