"""A streaming multipart/form-data reader for uploads.

Fields are collected as text; the one file part is written straight to a spool file
(`media.spool`) while its MD5 is computed, so a 1 GB upload needs a few chunks of memory, not
1 GB. Starlette's own form parser would spool to an anonymous temporary file that we
would then have to copy again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import Request

from darkroom.errors import Invalid, TooLarge
from darkroom.media.spool import SpooledFile

__all__ = ["UploadForm", "read_upload_form"]

MAX_FIELD_BYTES = 1024 * 1024  # one text field; larger means a client mistake or an attack
# `file` as a text field carries a data: URI; it is held in memory, so it has its own, larger cap.
MAX_DATA_URI_BYTES = 100 * 1024 * 1024
MAX_FIELDS = 1000


@dataclass
class UploadForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    file: SpooledFile | None = None

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[-1] if values else default

    def flat(self) -> dict[str, str]:
        """One value per name; repeated `name[]` fields are joined by `,` as the signature needs."""
        return {name: ",".join(values) if len(values) > 1 else values[0] for name, values in self.fields.items()}


class _PartState:
    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.header_field = b""
        self.header_value = b""
        self.name = ""
        self.filename: str | None = None
        self.text = bytearray()


async def read_upload_form(request: Request, spool_dir: Path, max_file_bytes: int) -> UploadForm:
    """Read a multipart (or urlencoded) body; the file part goes to a spool file."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type == b"application/x-www-form-urlencoded":
        form = await request.form()
        result = UploadForm()
        for name, value in form.multi_items():
            _add_field(result, name, str(value))
        return result
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise Invalid("Upload requests must be multipart/form-data")
    return await _read_multipart(request, options[b"boundary"], spool_dir, max_file_bytes)


def _add_field(form: UploadForm, name: str, value: str) -> None:
    if sum(len(v) for v in form.fields.values()) >= MAX_FIELDS:
        raise Invalid("Too many form fields")
    if "\x00" in name or "\x00" in value:  # no parameter may hold one, and PostgreSQL cannot store it
        raise Invalid(f"Parameter {name.replace(chr(0), '?')} must not contain NUL characters")
    form.fields.setdefault(name.removesuffix("[]"), []).append(value)


async def _read_multipart(request: Request, boundary: bytes, spool_dir: Path, max_file_bytes: int) -> UploadForm:
    events: list[tuple[str, bytes]] = []
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": lambda: events.append(("begin", b"")),
            "on_part_data": lambda data, start, end: events.append(("data", bytes(data[start:end]))),
            "on_part_end": lambda: events.append(("end", b"")),
            "on_header_field": lambda data, start, end: events.append(("hfield", bytes(data[start:end]))),
            "on_header_value": lambda data, start, end: events.append(("hvalue", bytes(data[start:end]))),
            "on_header_end": lambda: events.append(("hend", b"")),
            "on_headers_finished": lambda: events.append(("headers_done", b"")),
        },
    )
    form = UploadForm()
    writer = _FileWriter(spool_dir, max_file_bytes)
    part = _PartState()
    try:
        async for chunk in request.stream():
            _feed(parser, chunk)
            part = await _apply_events(events, form, writer, part)
            events.clear()
        parser.finalize()
        await _apply_events(events, form, writer, part)
        if parser.state != MultipartState.END:
            # A body cut short would otherwise store a truncated file as if it were whole.
            raise Invalid("Incomplete multipart body: the closing boundary is missing")
    except BaseException:
        writer.abort()
        raise
    form.file = writer.result()
    return form


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    """Parse one chunk; a malformed body is the client's error, not ours."""
    try:
        parser.write(chunk)
    except MultipartParseError as exc:
        raise Invalid("Malformed multipart body") from exc


async def _apply_events(events: list[tuple[str, bytes]], form: UploadForm, writer: _FileWriter, part: _PartState) -> _PartState:
    for kind, data in events:
        if kind == "begin":
            part = _PartState()
        elif kind == "hfield":
            part.header_field += data
        elif kind == "hvalue":
            part.header_value += data
        elif kind == "hend":
            part.headers[part.header_field.decode("latin-1").lower()] = part.header_value.decode("latin-1")
            part.header_field, part.header_value = b"", b""
        elif kind == "headers_done":
            _, options = parse_options_header(part.headers.get("content-disposition", ""))
            part.name = options.get(b"name", b"").decode("utf-8", "replace")
            raw_filename = options.get(b"filename")
            part.filename = raw_filename.decode("utf-8", "replace") if raw_filename is not None else None
            if part.filename is not None:
                if "\x00" in part.filename:
                    raise Invalid("The file name must not contain NUL characters")
                await writer.start(part.filename)
        elif kind == "data":
            if part.filename is not None:
                await writer.write(data)
            else:
                part.text += data
                limit = MAX_DATA_URI_BYTES if part.name == "file" else MAX_FIELD_BYTES
                if len(part.text) > limit:
                    raise Invalid(f"Parameter {part.name} is too long")
        elif kind == "end":
            if part.filename is None:
                _add_field(form, part.name, part.text.decode("utf-8", "replace"))
    return part


class _FileWriter:
    """Writes the file part to a spool file off the event loop, hashing as it goes."""

    def __init__(self, spool_dir: Path, max_bytes: int) -> None:
        self.spool_dir = spool_dir
        self.max_bytes = max_bytes
        self.handle: BinaryIO | None = None  # open between start() and result() or abort()
        self.path: Path | None = None
        self.filename = ""
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)

    async def start(self, filename: str) -> None:
        if self.path is not None:
            raise Invalid("Only one file may be uploaded per request")
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=self.spool_dir)
        self.handle = os.fdopen(fd, "wb")
        self.path = Path(name)
        self.filename = filename

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge(f"File size too large. Got {self.size}. Maximum is {self.max_bytes}.")
        self.md5.update(data)
        assert self.handle is not None, "write() before start()"
        await anyio.to_thread.run_sync(self.handle.write, data)

    def result(self) -> SpooledFile | None:
        if self.path is None or self.handle is None:
            return None
        self.handle.close()
        return SpooledFile(self.path, self.filename, self.size, self.md5.hexdigest())

    def abort(self) -> None:
        if self.path is not None and self.handle is not None:
            self.handle.close()
            self.path.unlink(missing_ok=True)
