"""Where credentials live: the environment, the OS keyring, or a 0600 JSON file.

Each store implements :class:`orderdesk.ports.secrets.SecretStore` over names such as
``kite.api_secret`` and ``kite.access_token``. :func:`default_secret_store` chains them: reads
take the first store that has the name (environment first, so an exported variable always
wins), writes go to the keyring when it is usable and to the file otherwise. Nothing here ever
writes a secret into the config file.

Every value a store returns or accepts is registered with
:func:`orderdesk.redaction.register_secret` so that it is masked in every log line from then on.
:class:`Secret` wraps a value for the places that hold one (a login session), so that a stray
``repr`` or f-string prints ``***``.
"""

from __future__ import annotations

import contextlib
import hmac
import importlib
import json
import logging
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from orderdesk.errors import ConfigError
from orderdesk.ports.secrets import SecretStore
from orderdesk.redaction import register_secret

log = logging.getLogger(__name__)

KEYRING_SERVICE = "orderdesk"
SECRETS_FILE_NAME = "secrets.json"

# The names under which the secrets are stored, not values.
API_SECRET = "kite.api_secret"  # noqa: S105 - a name, not a value
ACCESS_TOKEN = "kite.access_token"  # noqa: S105 - a name, not a value
TELEGRAM_BOT_TOKEN = "telegram.bot_token"  # noqa: S105 - a name, not a value


class SecretStoreError(ConfigError):
    """A secret store cannot be used as asked (unsafe file mode, read-only store, bad file)."""


class Secret:
    """A credential that prints as ``***``; :meth:`reveal` is the one way to the value.

    Creating one registers the value for log redaction. Equality compares in constant time.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        register_secret(value)
        self._value = value

    def reveal(self) -> str:
        """The clear value, for the one call that must send it (a header, the keyring)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, format_spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> Any:
        # Pickling would write the clear value to wherever the pickle goes (a cache, a queue).
        raise TypeError("a Secret cannot be pickled")


class WritableSecretStore(SecretStore, Protocol):
    """A store that can say whether it accepts writes (the chain picks the first that does)."""

    @property
    def writable(self) -> bool: ...


def env_var_for(name: str) -> str:
    """The variable holding a secret: ``kite.api_secret`` → ``ORDERDESK_KITE__API_SECRET``.

    The same scheme as every other setting (``ORDERDESK_<SECTION>__<KEY>``, as in
    ``ORDERDESK_KITE__API_KEY``), so a section's variables read alike whether they hold a secret
    or not.
    """
    section, _, key = name.partition(".")
    return "ORDERDESK_" + "__".join(_env_word(part) for part in (section, key) if part)


def legacy_env_var_for(name: str) -> str:
    """The older, deprecated name of :func:`env_var_for`'s variable (``ORDERDESK_KITE_API_SECRET``),
    still read when the new one is unset."""
    return "ORDERDESK_" + _env_word(name.replace(".", "_"))


def _env_word(part: str) -> str:
    return part.replace("-", "_").upper()


_warned_legacy: set[str] = set()


class EnvSecretStore:
    """Read-only secrets from ``ORDERDESK_<SECTION>__<KEY>`` environment variables.

    ``kite.api_secret`` is read from ``ORDERDESK_KITE__API_SECRET``; the older
    ``ORDERDESK_KITE_API_SECRET`` still works when the new one is unset, with a deprecation
    warning (logged once a process, naming the new variable, never the value).
    """

    writable = False

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def get(self, name: str) -> str | None:
        value = self._environ.get(env_var_for(name)) or self._legacy(name)
        if value is not None:
            register_secret(value)
        return value

    def _legacy(self, name: str) -> str | None:
        old = legacy_env_var_for(name)
        value = self._environ.get(old) or None
        if value is not None and old not in _warned_legacy:
            _warned_legacy.add(old)  # once a process: every store in a chain reads it again
            log.warning(
                "%s is deprecated and will stop working; export %s instead",
                old,
                env_var_for(name),
            )
        return value

    def set(self, name: str, value: str) -> None:
        register_secret(value)
        raise SecretStoreError(
            f"cannot store {name} in the environment; export {env_var_for(name)} instead"
        )

    def delete(self, name: str) -> None:
        raise SecretStoreError(
            f"cannot delete {name} from the environment; unset {env_var_for(name)} instead"
        )


class KeyringBackend(Protocol):
    """The three functions of the ``keyring`` module that the store uses."""

    def get_password(self, service_name: str, username: str) -> str | None: ...

    def set_password(self, service_name: str, username: str, password: str) -> None: ...

    def delete_password(self, service_name: str, username: str) -> None: ...


def _load_keyring() -> KeyringBackend | None:
    """The ``keyring`` module if it is installed and has a real backend, else ``None``."""
    try:
        # Imported by name: keyring is the optional extra orderdesk[keyring], absent from the
        # type-checking environment.
        keyring = importlib.import_module("keyring")
        fail = importlib.import_module("keyring.backends.fail")
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring config must not stop the file fallback
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    module: KeyringBackend = keyring
    return module


class KeyringSecretStore:
    """Secrets in the OS keyring under service ``orderdesk``; unusable when keyring is absent.

    ``backend`` is for tests; by default the ``keyring`` package is imported on first use.
    """

    def __init__(
        self, service: str = KEYRING_SERVICE, *, backend: KeyringBackend | None = None
    ) -> None:
        self._service = service
        self._backend = backend
        self._probed = backend is not None

    @property
    def writable(self) -> bool:
        return self._keyring() is not None

    def get(self, name: str) -> str | None:
        backend = self._keyring()
        if backend is None:
            return None
        try:
            value = backend.get_password(self._service, name)
        except Exception as exc:
            raise SecretStoreError(f"keyring: cannot read {name}: {type(exc).__name__}") from exc
        if value:
            register_secret(value)
        return value or None

    def set(self, name: str, value: str) -> None:
        register_secret(value)
        backend = self._require()
        try:
            backend.set_password(self._service, name, value)
        except Exception as exc:
            raise SecretStoreError(f"keyring: cannot store {name}: {type(exc).__name__}") from exc

    def delete(self, name: str) -> None:
        backend = self._require()
        if backend.get_password(self._service, name) is None:
            return
        try:
            backend.delete_password(self._service, name)
        except Exception as exc:
            raise SecretStoreError(f"keyring: cannot delete {name}: {type(exc).__name__}") from exc

    def _keyring(self) -> KeyringBackend | None:
        if not self._probed:
            self._backend = _load_keyring()
            self._probed = True
        return self._backend

    def _require(self) -> KeyringBackend:
        backend = self._keyring()
        if backend is None:
            raise SecretStoreError("keyring: not installed or no usable backend")
        return backend


class FileSecretStore:
    """Secrets in a JSON file that only its owner may read (mode 0600).

    Writes go to a 0600 temporary file in the same folder which then replaces the old one, so a
    crash never leaves a half-written or briefly world-readable file. A file that group or
    others can read is refused, not silently fixed: the secret in it may already be exposed.
    """

    writable = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, name: str) -> str | None:
        value = self._read().get(name)
        if value is not None:
            register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        register_secret(value)
        data = self._read()
        data[name] = value
        self._write(data)

    def delete(self, name: str) -> None:
        data = self._read()
        if data.pop(name, None) is not None:
            self._write(data)

    def _read(self) -> dict[str, str]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        with os.fdopen(fd, "r", encoding="utf-8") as file:
            # Checked on the open descriptor, so the file cannot be swapped between check and read.
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            if sys.platform != "win32" and mode & 0o077:
                raise SecretStoreError(
                    f"{self.path} is readable by other users (mode {mode:04o}); "
                    f"rotate the secrets in it, then run: chmod 600 {self.path}"
                )
            try:
                raw = json.load(file)
            except ValueError as exc:
                raise SecretStoreError(f"{self.path} is not valid JSON") from exc
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise SecretStoreError(f"{self.path} must hold a JSON object of strings")
        return raw

    def _write(self, data: Mapping[str, str]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file 0600 from the start; there is no moment it is wider.
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(dict(data), file, indent=2, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


class ChainSecretStore:
    """Several stores as one: reads take the first hit, writes the first writable store.

    ``delete`` removes the name from every writable store, so a logout cannot leave an old
    token behind in the file after the keyring became available (or the other way round).
    """

    def __init__(self, stores: Sequence[WritableSecretStore]) -> None:
        self.stores = tuple(stores)

    @property
    def writable(self) -> bool:
        return any(store.writable for store in self.stores)

    def get(self, name: str) -> str | None:
        for store in self.stores:
            value = store.get(name)
            if value is not None:
                return value
        return None

    def set(self, name: str, value: str) -> None:
        self._first_writable(name).set(name, value)

    def delete(self, name: str) -> None:
        for store in self._writable():
            store.delete(name)

    def where(self, name: str) -> WritableSecretStore | None:
        """The store a read of ``name`` would be answered from (for "stored in …" messages)."""
        for store in self.stores:
            if store.get(name) is not None:
                return store
        return None

    def _writable(self) -> Iterable[WritableSecretStore]:
        return (store for store in self.stores if store.writable)

    def _first_writable(self, name: str) -> WritableSecretStore:
        for store in self._writable():
            return store
        raise SecretStoreError(f"no writable secret store for {name}")


def default_secret_store(
    config_dir: Path, *, environ: MutableMapping[str, str] | None = None
) -> ChainSecretStore:
    """Environment, then the OS keyring when usable, then ``config_dir/secrets.json`` (0600)."""
    return ChainSecretStore(
        [
            EnvSecretStore(environ),
            KeyringSecretStore(),
            FileSecretStore(config_dir / SECRETS_FILE_NAME),
        ]
    )


def describe_store(store: object) -> str:
    """A short human name for where a secret lives, without any value."""
    if isinstance(store, EnvSecretStore):
        return "the environment"
    if isinstance(store, KeyringSecretStore):
        return "the OS keyring"
    if isinstance(store, FileSecretStore):
        return f"{store.path} (mode 0600)"
    return type(store).__name__


__all__ = [
    "ACCESS_TOKEN",
    "API_SECRET",
    "KEYRING_SERVICE",
    "TELEGRAM_BOT_TOKEN",
    "ChainSecretStore",
    "EnvSecretStore",
    "FileSecretStore",
    "KeyringBackend",
    "KeyringSecretStore",
    "Secret",
    "SecretStoreError",
    "WritableSecretStore",
    "default_secret_store",
    "describe_store",
    "env_var_for",
    "legacy_env_var_for",
]
