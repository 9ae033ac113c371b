"""Log lines an operator can follow: one request ID on every line a request causes, text or JSON.

The request ID lives in a context variable set by the telemetry middleware for the duration of
a request; tasks and worker threads started by the request inherit it (asyncio copies the
context into new tasks, anyio into `to_thread` calls), so a background store's warning names
the request that rendered the derivative. `RequestIdFilter` stamps it on every record.

`logging_config` is handed to uvicorn (`log_config=`), which applies it in every process,
workers included, before anything logs. Example lines, text then `--log-format json`:

    2026-12-05T06:41:43.120Z INFO darkroom.access [5f0c2d9a1b7e4c38] 127.0.0.1 GET /demo/image/upload/w_100/a.jpg 200 3.1ms 5120B
    {"time": "2026-12-05T06:41:43.120Z", "level": "INFO", "logger": "darkroom.access", "request_id": "5f0c2d9a1b7e4c38", "message": "…", "method": "GET", …}
"""

from __future__ import annotations

import json
import logging
import itertools
import os
import re
import time
from contextvars import ContextVar
from typing import Any

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "RequestIdFilter",
    "TextFormatter",
    "access_log",
    "current_request_id",
    "logging_config",
    "request_id",
    "request_id_header",
]

LOG_FORMATS = ("text", "json")
NO_REQUEST = "-"  # the request ID of lines logged outside any request (start-up, shutdown)

request_id: ContextVar[str] = ContextVar("darkroom_request_id", default=NO_REQUEST)
access_log = logging.getLogger("darkroom.access")

# An incoming X-Request-Id is kept when it looks like an ID (a UUID, a proxy's hex or base64
# token), so a trace crosses the proxy; anything else, or anything long, is replaced.
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:+=/-]{1,128}")


def current_request_id() -> str:
    return request_id.get()


# A new ID is this process's random prefix and a count: unique across processes and requests
# without a system call for randomness on every request (IDs trace requests; they guard nothing).
_ID_PREFIX = os.urandom(4).hex().encode("ascii")
_ID_COUNT = itertools.count(1)


def _new_request_id() -> bytes:
    return b"%s%08x" % (_ID_PREFIX, next(_ID_COUNT) & 0xFFFFFFFF)


def request_id_header(given: bytes | None) -> bytes:
    """The client's (or proxy's) X-Request-Id if it is well-formed, else a new one. Bytes, as
    headers are: a replayed answer needs no text unless it is logged."""
    if given is not None and _WELL_FORMED.fullmatch(given):
        return given
    return _new_request_id()


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request ID current where it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER [REQUEST_ID] MESSAGE`, one line (a traceback follows on its own lines)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name} [{getattr(record, 'request_id', NO_REQUEST)}] {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, request_id, message, and the record's
    `fields` (given as `extra={"fields": {...}}`, e.g. the access line's method and status)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(log_format: str = "text", level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn's `log_config`: one handler on stderr in the
    chosen format; darkroom's and uvicorn's loggers at `level`, other libraries at warnings.
    uvicorn's own access log is silenced: `darkroom.access` writes one line per request instead,
    with the request ID and timing."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    chosen = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"darkroom": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "darkroom", "filters": ["request_id"]},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "darkroom": {"level": chosen},
            "uvicorn": {"level": chosen},
            "uvicorn.error": {"level": chosen},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
