"""Where an upload's bytes come from besides a file part: a remote URL or a `data:` URI.

Remote fetches are the classic SSRF hole, so every hop is checked: the host is resolved
once, every address must be public (or inside the configured allow-list), the connection
goes to the checked address (no second DNS answer can swap it), redirects are followed by
hand and checked the same way, and size and time are bounded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import re
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import anyio
import httpx

from darkroom.errors import Invalid, TooLarge
from darkroom.media.spool import SpooledFile, spool_bytes

__all__ = ["is_remote_source", "fetch_remote", "decode_data_uri", "post_checked", "checked_request"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_REDIRECTS = 5
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[^;,]*)*)(?P<b64>;base64)?,", re.I)


def is_remote_source(value: str) -> bool:
    return value.lower().startswith(("http://", "https://", "ftp://", "s3://", "gs://"))


async def fetch_remote(
    url: str, spool_dir: Path, *, max_bytes: int, timeout: float, allow: Sequence[Network] = ()
) -> SpooledFile:
    """Download `url` into a spool file, refusing private addresses unless allow-listed."""
    if not url.lower().startswith(("http://", "https://")):
        raise Invalid(f"Unsupported remote file scheme: {url.split(':', 1)[0]}")
    try:
        with anyio.fail_after(timeout):
            return await _follow(url, spool_dir, max_bytes, allow)
    except TimeoutError as exc:
        raise Invalid(f"Error in loading {url} - timed out after {timeout:g}s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise Invalid(f"Error in loading {url} - {type(exc).__name__}") from exc


async def _follow(url: str, spool_dir: Path, max_bytes: int, allow: Sequence[Network]) -> SpooledFile:
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            request = await _pinned_request(client, url, allow)
            response = await client.send(request, stream=True)
            try:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise Invalid(f"Error in loading {url} - {response.status_code} {response.reason_phrase}")
                return await _spool(response, url, spool_dir, max_bytes)
            finally:
                await response.aclose()
    raise Invalid(f"Error in loading {url} - too many redirects")


async def post_checked(
    url: str, content: bytes, headers: dict[str, str], *, timeout: float, allow: Sequence[Network] = ()
) -> int:
    """POST `content` to `url` (a webhook) under the same address rules as a fetch; no
    redirect is followed. Returns the status; Invalid if the address is refused or unreachable."""
    if not url.lower().startswith(("http://", "https://")):
        raise Invalid(f"Unsupported notification URL scheme: {url.split(':', 1)[0]}")
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
                request = await _pinned_request(client, url, allow, method="POST", content=content, headers=headers)
                # The status is all a webhook needs: the receiver's body is never read, so a
                # reply that never ends costs nothing.
                response = await client.send(request, stream=True)
                await response.aclose()
                return response.status_code
    except TimeoutError as exc:
        raise Invalid(f"Error in posting to {url} - timed out after {timeout:g}s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise Invalid(f"Error in posting to {url} - {type(exc).__name__}") from exc


async def checked_request(client: httpx.AsyncClient, url: str, allow: Sequence[Network] = ()) -> httpx.Request:
    """A GET of `url` for a caller following redirects by hand: Invalid if its host resolves to
    a non-public address (outside `allow`); the request connects to the address checked."""
    return await _pinned_request(client, url, allow)


async def _pinned_request(
    client: httpx.AsyncClient,
    url: str,
    allow: Sequence[Network],
    *,
    method: str = "GET",
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Request:
    """A request that connects to a checked IP address while keeping the original Host and TLS name."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # `.port` raises on a non-number or one out of range
    except ValueError:
        raise Invalid(f"Invalid remote URL: {url}") from None
    if not host or parts.scheme not in ("http", "https"):
        raise Invalid(f"Invalid remote URL: {url}")
    address = await _checked_address(host, port or (443 if parts.scheme == "https" else 80), allow)
    netloc = f"[{address}]" if address.version == 6 else str(address)
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = host if not parts.port else f"{host}:{parts.port}"
    return client.build_request(
        method, pinned, content=content, extensions={"sni_hostname": host},
        headers={**(headers or {}), "Host": host_header, "User-Agent": "darkroom-fetch"},
    )


async def _checked_address(host: str, port: int, allow: Sequence[Network]) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA cannot encode
        raise Invalid(f"Error in loading remote file - cannot resolve {host}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not _is_public(address) and not any(address in network for network in allow):
            raise Invalid(f"Error in loading remote file - {host} resolves to a non-public address")
    return addresses[0]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one is sent there by a translating network
        # (mapped, 6to4, NAT64 64:ff9b::/96, IPv4-compatible ::/96): judge the IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and (address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1)):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not address.is_multicast


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


async def _spool(response: httpx.Response, url: str, spool_dir: Path, max_bytes: int) -> SpooledFile:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"File size too large. Got {declared}. Maximum is {max_bytes}.")
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="fetch-", dir=spool_dir)
    path = Path(name)
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"File size too large. Got more than {max_bytes}. Maximum is {max_bytes}.")
                digest.update(chunk)
                await anyio.to_thread.run_sync(handle.write, chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "file"
    return SpooledFile(path, filename, size, digest.hexdigest())


def decode_data_uri(value: str, spool_dir: Path, *, max_bytes: int) -> SpooledFile:
    """Decode a `data:[mime][;k=v]*[;base64],…` URI into a spool file."""
    match = _DATA_URI.match(value)
    if match is None:
        raise Invalid("Invalid data URI")
    payload = value[match.end() :]
    if match.group("b64"):
        if len(payload) * 3 // 4 > max_bytes:
            raise TooLarge(f"File size too large. Maximum is {max_bytes}.")
        try:
            data = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise Invalid("Invalid data URI: bad base64") from exc
    else:
        data = unquote(payload).encode()
    if len(data) > max_bytes:
        raise TooLarge(f"File size too large. Got {len(data)}. Maximum is {max_bytes}.")
    return spool_bytes(spool_dir, "data-", "file", data)
