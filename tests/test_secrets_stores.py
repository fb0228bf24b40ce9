"""Secret stores: environment, keyring (faked), the 0600 file, the chain, and the Secret wrapper."""

from __future__ import annotations

import json
import logging
import os
import pickle
import stat
import sys
import types
from pathlib import Path

import pytest

from orderdesk import secrets as secrets_module
from orderdesk.logging import redact
from orderdesk.secrets import (
    ACCESS_TOKEN,
    API_SECRET,
    ChainSecretStore,
    EnvSecretStore,
    FileSecretStore,
    KeyringSecretStore,
    Secret,
    SecretStoreError,
    default_secret_store,
    env_var_for,
    legacy_env_var_for,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


class FakeKeyring:
    """The three keyring functions over a dict."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service_name: str, username: str) -> str | None:
        return self.items.get((service_name, username))

    def set_password(self, service_name: str, username: str, password: str) -> None:
        self.items[(service_name, username)] = password

    def delete_password(self, service_name: str, username: str) -> None:
        del self.items[(service_name, username)]


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import keyring`` fail, as in an install without the extra."""
    monkeypatch.setitem(sys.modules, "keyring", None)


def test_secret_prints_as_stars_everywhere() -> None:
    """repr, str and f-strings of a Secret show *** and only reveal() gives the value."""
    secret = Secret("s3cr3t-value-abc")

    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret} {secret!r} {secret:>20}" == "*** Secret('***') ***"
    assert secret.reveal() == "s3cr3t-value-abc"
    assert secret == Secret("s3cr3t-value-abc")
    assert secret != Secret("other-value-xyz")


def test_secret_refuses_pickling() -> None:
    """A Secret cannot be pickled, so it cannot leak into a cache or queue in clear."""
    with pytest.raises(TypeError) as exc_info:
        pickle.dumps(Secret("pickled-secret-1"))

    assert "cannot be pickled" in str(exc_info.value)


def test_creating_a_secret_registers_it_for_redaction() -> None:
    """Once wrapped, a value is masked in any text that passes the log redactor."""
    Secret("wrapped-secret-9f8e7d")

    assert redact("token is wrapped-secret-9f8e7d.") == "token is ***."


def test_env_var_names_follow_the_settings_scheme() -> None:
    """kite.api_secret lives in ORDERDESK_KITE__API_SECRET, named like ORDERDESK_KITE__API_KEY."""
    assert env_var_for(API_SECRET) == "ORDERDESK_KITE__API_SECRET"
    assert env_var_for(ACCESS_TOKEN) == "ORDERDESK_KITE__ACCESS_TOKEN"
    assert legacy_env_var_for(API_SECRET) == "ORDERDESK_KITE_API_SECRET"


def test_env_store_reads_and_refuses_writes() -> None:
    """The environment store reads variables and says how to set one instead of writing."""
    store = EnvSecretStore({"ORDERDESK_KITE__API_SECRET": "env-secret-123"})

    assert store.get(API_SECRET) == "env-secret-123"
    assert store.get(ACCESS_TOKEN) is None
    with pytest.raises(SecretStoreError) as exc_info:
        store.set(ACCESS_TOKEN, "new-token-value")

    assert "ORDERDESK_KITE__ACCESS_TOKEN" in str(exc_info.value)
    assert "new-token-value" not in str(exc_info.value)


def test_env_store_still_reads_the_old_names_and_says_they_are_deprecated(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ORDERDESK_KITE_API_SECRET still works, with a warning naming the new variable (not the
    value); the new name wins when both are set."""
    monkeypatch.setattr(secrets_module, "_warned_legacy", set())
    old_only = EnvSecretStore({"ORDERDESK_KITE_API_SECRET": "old-secret-456"})
    both = EnvSecretStore(
        {"ORDERDESK_KITE_API_SECRET": "old-secret-456", "ORDERDESK_KITE__API_SECRET": "new-one"}
    )

    with caplog.at_level(logging.WARNING, logger="orderdesk.secrets"):
        assert old_only.get(API_SECRET) == "old-secret-456"
        assert both.get(API_SECRET) == "new-one"

    warnings = [r.getMessage() for r in caplog.records if r.name == "orderdesk.secrets"]
    assert warnings == [
        "ORDERDESK_KITE_API_SECRET is deprecated and will stop working; "
        "export ORDERDESK_KITE__API_SECRET instead"
    ]


def test_env_store_treats_empty_variable_as_missing() -> None:
    """An exported but empty variable does not shadow the keyring or file."""
    assert EnvSecretStore({"ORDERDESK_KITE__API_SECRET": ""}).get(API_SECRET) is None


@posix_only
def test_file_store_creates_an_owner_only_file(tmp_path: Path) -> None:
    """The secrets file is created 0600 (even with a permissive umask) in a 0700 folder."""
    path = tmp_path / "conf" / "secrets.json"
    store = FileSecretStore(path)
    old_umask = os.umask(0)
    try:
        store.set(ACCESS_TOKEN, "file-token-abc")
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {ACCESS_TOKEN: "file-token-abc"}
    assert store.get(ACCESS_TOKEN) == "file-token-abc"


@posix_only
def test_file_store_round_trip_and_delete(tmp_path: Path) -> None:
    """Values survive a new store instance; delete removes one name and keeps the others."""
    path = tmp_path / "secrets.json"
    FileSecretStore(path).set(API_SECRET, "api-secret-xyz")
    FileSecretStore(path).set(ACCESS_TOKEN, "token-xyz-123")

    store = FileSecretStore(path)
    store.delete(ACCESS_TOKEN)
    store.delete("kite.never_stored")

    assert store.get(API_SECRET) == "api-secret-xyz"
    assert store.get(ACCESS_TOKEN) is None
    assert FileSecretStore(tmp_path / "absent.json").get(API_SECRET) is None


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_file_store_refuses_a_file_others_can_read(tmp_path: Path, mode: int) -> None:
    """A group- or world-readable secrets file is refused with the fix in the message."""
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({API_SECRET: "exposed-secret"}))
    path.chmod(mode)

    with pytest.raises(SecretStoreError) as exc_info:
        FileSecretStore(path).get(API_SECRET)

    message = str(exc_info.value)
    assert f"{mode:04o}" in message
    assert "chmod 600" in message
    assert "exposed-secret" not in message


@posix_only
def test_file_store_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails half-way leaves the previous file intact and no temporary behind."""
    path = tmp_path / "secrets.json"
    store = FileSecretStore(path)
    store.set(API_SECRET, "original-secret")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full") as exc_info:
        store.set(ACCESS_TOKEN, "never-written")

    assert exc_info.value.args == ("disk full",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.json"]
    monkeypatch.undo()
    assert store.get(API_SECRET) == "original-secret"
    assert store.get(ACCESS_TOKEN) is None


@posix_only
def test_file_store_rejects_malformed_content(tmp_path: Path) -> None:
    """A secrets file that is not a JSON object of strings gives a clear error."""
    path = tmp_path / "secrets.json"
    path.write_text("[1, 2]")
    path.chmod(0o600)

    with pytest.raises(SecretStoreError) as exc_info:
        FileSecretStore(path).get(API_SECRET)

    assert "JSON object of strings" in str(exc_info.value)


def test_keyring_store_uses_service_orderdesk() -> None:
    """Values go to the keyring under service 'orderdesk', keyed by the secret name."""
    backend = FakeKeyring()
    store = KeyringSecretStore(backend=backend)

    store.set(ACCESS_TOKEN, "keyring-token-1")

    assert backend.items == {("orderdesk", ACCESS_TOKEN): "keyring-token-1"}
    assert store.get(ACCESS_TOKEN) == "keyring-token-1"
    store.delete(ACCESS_TOKEN)
    store.delete(ACCESS_TOKEN)  # deleting an absent name is not an error
    assert store.get(ACCESS_TOKEN) is None


@pytest.mark.usefixtures("no_keyring")
def test_keyring_store_without_keyring_installed_is_unusable() -> None:
    """Without the keyring package the store is not writable, reads nothing, refuses writes."""
    store = KeyringSecretStore()

    assert store.writable is False
    assert store.get(API_SECRET) is None
    with pytest.raises(SecretStoreError) as exc_info:
        store.set(API_SECRET, "nowhere-to-go")

    assert "not installed" in str(exc_info.value)


def test_keyring_with_only_the_fail_backend_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    """keyring installed but with no real backend (headless box) counts as unusable."""
    fail = types.ModuleType("keyring.backends.fail")

    class FailKeyring:
        priority = 0

    fail.Keyring = FailKeyring  # type: ignore[attr-defined]
    keyring = types.ModuleType("keyring")
    keyring.get_keyring = FailKeyring  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    monkeypatch.setitem(sys.modules, "keyring.backends", types.ModuleType("keyring.backends"))
    monkeypatch.setitem(sys.modules, "keyring.backends.fail", fail)

    assert KeyringSecretStore().writable is False


@posix_only
def test_chain_reads_first_hit_and_writes_to_keyring_when_usable(tmp_path: Path) -> None:
    """Environment wins on read; writes go to the keyring, not the file, when it is usable."""
    backend = FakeKeyring()
    file_store = FileSecretStore(tmp_path / "secrets.json")
    file_store.set(API_SECRET, "file-secret")
    chain = ChainSecretStore(
        [
            EnvSecretStore({"ORDERDESK_KITE__API_SECRET": "env-secret"}),
            KeyringSecretStore(backend=backend),
            file_store,
        ]
    )

    chain.set(ACCESS_TOKEN, "chained-token")

    assert chain.get(API_SECRET) == "env-secret"
    assert backend.items == {("orderdesk", ACCESS_TOKEN): "chained-token"}
    assert file_store.get(ACCESS_TOKEN) is None
    assert chain.get(ACCESS_TOKEN) == "chained-token"


@posix_only
@pytest.mark.usefixtures("no_keyring")
def test_default_store_falls_back_to_the_file_without_keyring(tmp_path: Path) -> None:
    """Without keyring the access token lands in config_dir/secrets.json with mode 0600."""
    store = default_secret_store(tmp_path, environ={})

    store.set(ACCESS_TOKEN, "fallback-token")

    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.get(ACCESS_TOKEN) == "fallback-token"


@posix_only
def test_chain_delete_clears_every_writable_store(tmp_path: Path) -> None:
    """Logout removes the token from both keyring and file, so no stale copy survives."""
    backend = FakeKeyring()
    keyring_store = KeyringSecretStore(backend=backend)
    file_store = FileSecretStore(tmp_path / "secrets.json")
    keyring_store.set(ACCESS_TOKEN, "token-in-keyring")
    file_store.set(ACCESS_TOKEN, "token-in-file")
    chain = ChainSecretStore([EnvSecretStore({}), keyring_store, file_store])

    chain.delete(ACCESS_TOKEN)

    assert chain.get(ACCESS_TOKEN) is None


def test_chain_with_no_writable_store_says_so() -> None:
    """A chain of read-only stores refuses writes with a clear error."""
    chain = ChainSecretStore([EnvSecretStore({})])

    with pytest.raises(SecretStoreError) as exc_info:
        chain.set(ACCESS_TOKEN, "no-home-token")

    assert "no writable secret store" in str(exc_info.value)
