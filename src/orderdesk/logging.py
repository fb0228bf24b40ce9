"""Logging for the whole process: structlog on top of stdlib logging, with secrets redacted.

:func:`configure_logging` routes structlog events and stdlib records (aiohttp, asyncio, ours)
through one handler. Every message passes :func:`redact` (:mod:`orderdesk.redaction`) first,
which replaces

- every value handed to :func:`register_secret` (the secret store and the login code register
  the api_secret and access token the moment they load or receive them),
- the credential in ``Authorization: token key:token`` headers,
- the values of ``access_token=``, ``api_secret=``, ``request_token=`` … query or form params
  and of the same keys in JSON bodies,
- a Telegram bot token in a Bot API URL path (``/bot<id>:<token>/sendMessage``): the token is
  in every request's URL, so a URL that reaches a log line must not carry it,

with ``***``. Redaction is a safety net; code still must not log secrets on purpose.

The HTTP libraries under apprise (and apprise itself) log every request's URL at DEBUG, and an
alert URL is a credential (a webhook token in its path), so their loggers
(:data:`HTTP_LIBRARY_LOGGERS`) are held at WARNING even when the desk logs at DEBUG, unless
``http_debug=True`` asks for them; the alert notifier registers its URLs' secret parts besides
(:mod:`orderdesk.notify.url_secrets`).

Stdlib records are redacted when they are *created* (a wrapped log-record factory), not only
when one handler formats them, so every handler sees clean records, pytest's ``caplog``
included. Tracebacks are rendered to plain text (no locals) before redaction.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import MutableMapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, TextIO

import stamina.instrumentation
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from orderdesk.redaction import (
    MASK,
    forget_secrets,
    redact,
    redact_value,
    register_secret,
)


def redact_event(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: redact every value of the event (strings, containers, reprs)."""
    for key, value in event_dict.items():
        if key.startswith("_"):
            continue  # ProcessorFormatter's own bookkeeping (_record, _from_structlog)
        event_dict[key] = redact_value(value)
    return event_dict


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if isinstance(record.msg, MutableMapping) and not record.args:
        # A structlog event on its way to ProcessorFormatter: keep it a dict.
        record.msg = {
            k: v if str(k).startswith("_") else redact_value(v) for k, v in record.msg.items()
        }
    else:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not stop the log call
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[1] is not None:
        # Formatters reuse a cached exc_text, so caching the clean one covers all of them.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


def _install_record_factory() -> None:
    original = logging.getLogRecordFactory()
    # Marked rather than remembered in a flag, so a test that restores the previous factory
    # gets a fresh one installed by the next configure_logging().
    if getattr(original, "redacts_secrets", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redact_record(original(*args, **kwargs))

    factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class _OrderdeskHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the one handler configure_logging owns, so reconfiguring replaces it."""


class _OrderdeskFileHandler(RotatingFileHandler):
    """Marks the log file configure_logging owns, so reconfiguring replaces (and closes) it.

    Every file it opens (the first, and each one after a rotation) is created 0600: redacted,
    the log is still a record of one person's trading, not for other accounts to read.
    """

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


HTTP_LIBRARY_LOGGERS = ("apprise", "urllib3", "requests", "httpx", "httpcore")
"""Loggers that write request URLs (and so alert-channel tokens) at DEBUG and INFO."""


def quiet_http_libraries(*, debug: bool = False) -> None:
    """Hold :data:`HTTP_LIBRARY_LOGGERS` at WARNING (``debug``: let them follow the root)."""
    for name in HTTP_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.WARNING)


LOG_FILE_BYTES = 10_000_000
"""A log file is rotated at this size (``orderdesk.log`` → ``orderdesk.log.1`` …)."""
LOG_FILE_BACKUPS = 5
"""Rotated files kept: the file and these hold some 60 MB, weeks of a desk's INFO log."""


def configure_logging(
    level: str | int = "INFO",
    json: bool = False,
    *,
    stream: TextIO | None = None,
    file: Path | None = None,
    http_debug: bool = False,
) -> None:
    """Send structlog and stdlib logging to ``stream`` (stderr), redacted, at ``level``.

    ``json=True`` writes one JSON object per line (for files and collectors); otherwise a
    readable console format. With ``file``, the same records also go there as JSON lines,
    rotated at :data:`LOG_FILE_BYTES` with :data:`LOG_FILE_BACKUPS` kept; the file is created
    0600, and any folder made for it 0700. Calling it again replaces the previous
    configuration. apprise and the HTTP libraries log at WARNING and above only, unless
    ``http_debug`` (their DEBUG lines carry request URLs; what they say is still redacted).
    """
    _install_record_factory()
    quiet_http_libraries(debug=http_debug)
    stamina.instrumentation.set_on_retry_hooks([_log_retry])
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Plain-text tracebacks: rich tracebacks could print local variables (and secrets).
        structlog.processors.format_exc_info,
        redact_event,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_event,
            renderer,
        ],
    )
    handler = _OrderdeskHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [
        h for h in root.handlers if isinstance(h, _OrderdeskHandler | _OrderdeskFileHandler)
    ]:
        root.removeHandler(old)
        if isinstance(old, _OrderdeskFileHandler):
            old.close()
    root.addHandler(handler)
    if file is not None:
        root.addHandler(_file_handler(file, shared))
    root.setLevel(level.upper() if isinstance(level, str) else level)


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """stamina's own retry line (``stamina.retry_scheduled``), at DEBUG when the block only
    waits to look again (an error class marked ``routine_retry``, the engine's ``NotYet``: a
    lookup found nothing yet), at WARNING for an error: the waits were most of a desk's log
    after a crash (63 lines of 87), burying its alerts."""
    routine = getattr(type(details.caused_by), "routine_retry", False)
    structlog.get_logger("stamina").log(
        logging.DEBUG if routine else logging.WARNING,
        "stamina.retry_scheduled",
        callable=details.name,
        retry_num=details.retry_num,
        caused_by=repr(details.caused_by),
        wait_for=round(details.wait_for, 2),
        waited_so_far=round(details.waited_so_far, 2),
    )


def _file_handler(path: Path, shared: list[Processor]) -> _OrderdeskFileHandler:
    from orderdesk.store.location import make_private_dir  # the store's: only with a file

    # Made before the desk makes its data_dir, which is often this folder: made here with the
    # default mode, the desk's whole data (its event log beside the log) was left 0755.
    make_private_dir(path.parent)
    handler = _OrderdeskFileHandler(
        path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_event,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger that goes through :func:`configure_logging`'s pipeline."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


__all__ = [
    "HTTP_LIBRARY_LOGGERS",
    "LOG_FILE_BACKUPS",
    "LOG_FILE_BYTES",
    "MASK",
    "configure_logging",
    "forget_secrets",
    "get_logger",
    "quiet_http_libraries",
    "redact",
    "redact_event",
    "register_secret",
]
