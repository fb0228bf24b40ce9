"""A throwaway PostgreSQL server for the tests, from Debian's ``postgresql`` binaries.

The server gets a fresh data directory under the system temp dir, listens on 127.0.0.1 on a free
port and on a private unix-socket directory, trusts local connections, and is stopped and
deleted at the end of the session. PostgreSQL refuses to run as root, so as root (CI) the data
directory is handed to the ``postgres`` account the package creates (``nobody`` otherwise) and
``initdb``/``pg_ctl`` run through ``runuser``.

Durability is switched off (``fsync=off``): these tests prove the chain and the locking, not
PostgreSQL's own crash safety, and fsyncs would only make them slow.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

DEBIAN_BINARIES = Path("/usr/lib/postgresql")
SUPERUSER = "orderdesk"
REQUIRE_ENV = "ORDERDESK_REQUIRE_POSTGRES"
"""Set (to anything non-empty), or ``CI`` set, and a server that cannot start fails the tests
instead of skipping them."""


class PostgresUnavailable(RuntimeError):
    """No server could be started here; the message says why."""


def required() -> bool:
    """Whether the PostgreSQL tests must run (CI) rather than be skipped when no server starts."""
    return bool(os.environ.get(REQUIRE_ENV) or os.environ.get("CI"))


def bin_dir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: PATH, else Debian's newest."""
    found = shutil.which("pg_ctl")
    if found is not None and shutil.which("initdb") is not None:
        return Path(found).resolve().parent
    versions = sorted(
        (p for p in DEBIAN_BINARIES.glob("*/bin") if (p / "pg_ctl").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> tuple[list[str], int | None, int | None]:
    """The command prefix, uid and gid that PostgreSQL should run under."""
    if os.geteuid() != 0:
        return [], None, None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root and runuser is missing (util-linux)")
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            account = pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"], account.pw_uid, account.pw_gid
    raise PostgresUnavailable("running as root and there is no postgres or nobody account")


class PostgresServer:
    """One running server; :meth:`new_database` hands out an empty database per test."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="orderdesk-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = 0
        self._options = ""
        self._prefix: list[str] = []
        self._names = itertools.count(1)

    def start(self) -> None:
        """initdb, then pg_ctl start on a free port (a few tries, in case the port is taken)."""
        self._prefix, uid, gid = _run_as()
        self.sockets.mkdir()
        if uid is not None and gid is not None:
            for path in (self.root, self.sockets):
                os.chown(path, uid, gid)
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        failure = ""
        for _ in range(3):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=60"
            )
            try:
                self._pg(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                    "-o", options, "start",
                )  # fmt: skip
                self._options = options
                return
            except PostgresUnavailable as exc:
                failure = str(exc)
        raise PostgresUnavailable(failure)

    def restart(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl -m fast``: every session ended; ``immediate``: a crash) and
        start it again on the same data and port, as an operator's restart does: each session,
        and each session's advisory lock, is gone."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        self._pg(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", self._options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown) and delete it."""
        if self.data.is_dir():
            with contextlib.suppress(PostgresUnavailable):
                self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server, over TCP on loopback."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a newly created, empty database."""
        name = f"test_{next(self._names)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # name is ours, not user input
        return self.url(name)

    def _pg(self, program: str, *args: str) -> None:
        command = [*self._prefix, str(self.binaries / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.is_file() else ""
            raise PostgresUnavailable(
                f"{program} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}"
            )


def start_server() -> PostgresServer:
    """A running server, or PostgresUnavailable saying why there cannot be one here."""
    binaries = bin_dir()
    if binaries is None:
        raise PostgresUnavailable(
            "no PostgreSQL binaries (pg_ctl, initdb) on PATH or in /usr/lib/postgresql/*/bin; "
            "scripts/ensure-test-deps.sh installs Debian's postgresql when run as root"
        )
    server = PostgresServer(binaries)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


__all__ = ["PostgresServer", "PostgresUnavailable", "bin_dir", "required", "start_server"]
