"""What `darkroom serve` does around uvicorn: claim the port, set up a fresh data folder, say so.

The order matters to an operator reading the terminal:

1. bind the listening socket, so a taken port is reported before anything claims to be serving
   (and before a first-start password is printed that nobody could then use);
2. on a fresh data folder, create the `demo` key and the `admin` console user, whose secrets
   are printed this once;
3. print the banner: where the server listens, the `CLOUDINARY_URL` an app should use (its
   secret replaced by the command that reveals it, unless it was just created) and the console;
4. hand the bound socket to uvicorn (one process, or `--workers N` sharing it).
"""

from __future__ import annotations

import errno
import secrets
import socket
import sys
from dataclasses import dataclass

import click

from darkroom import __version__, catalog
from darkroom.catalog import ApiKey, Engine
from darkroom.errors import Conflict
from darkroom.media import sessions

__all__ = ["FirstStart", "Listener", "banner_lines", "first_start", "listen", "run_uvicorn", "secret_hint"]

FIRST_USER = "admin"
# Letters and digits that cannot be confused when copied by eye (no 0/O, 1/l/I).
_PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DEMO_CLOUD = "demo"


@dataclass(frozen=True)
class Listener:
    """A bound (not yet listening) socket and the address an app should use to reach it."""

    sock: socket.socket
    host: str
    port: int  # the bound port: differs from --port 0's 0
    secure: bool

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.secure else 'http'}://{host}:{self.port}"


def listen(host: str, port: int, *, secure: bool) -> Listener:
    """Bind host:port now, or explain why not and how to choose another port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(_bind_failure(host, port, exc)) from exc
    except OverflowError as exc:  # a port past 65535
        sock.close()
        raise click.BadParameter(str(exc), param_hint="--port") from exc
    sock.set_inheritable(True)  # --workers N: the worker processes accept on this socket
    return Listener(sock, host, sock.getsockname()[1], secure)


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        reason = f"port {port} is already in use (another darkroom, or another program)"
    elif exc.errno == errno.EACCES:
        reason = f"port {port} needs privileges this user lacks"
    elif exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}:{port}: {host} is not an address of this machine; choose another with --host"
    else:
        reason = exc.strerror or str(exc)
    return (
        f"cannot listen on {host}:{port}: {reason}.\n"
        f"Choose another port: `darkroom serve --port {_another_port(port)}` (or `make run PORT={_another_port(port)}`)."
    )


def _another_port(port: int) -> int:
    return port + 1 if 1024 <= port < 65535 else 8089


@dataclass(frozen=True)
class FirstStart:
    """What start-up created; secrets in here are printed once and never again."""

    key: ApiKey  # the key the banner shows
    key_is_new: bool  # created just now: the banner may print its secret
    admin_password: str | None  # set when the `admin` console user was created just now


def first_start(engine: Engine, env_key: ApiKey | None) -> FirstStart:
    """Make what a fresh data folder lacks: a `demo` key, and an `admin` console user."""
    key, key_is_new = env_key, False
    if key is None:
        key = catalog.first_active_key(engine)
    if key is None:
        key, key_is_new = catalog.create_key(engine, DEMO_CLOUD, label="created by darkroom serve"), True
    return FirstStart(key, key_is_new, _create_first_user(engine))


def _create_first_user(engine: Engine) -> str | None:
    """The new `admin`'s password, or None when the console already has a user."""
    if sessions.list_users(engine):
        return None
    password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))  # about 90 bits
    try:
        sessions.create_user(engine, FIRST_USER, password)
    except Conflict:  # another server on the same database made it first
        return None
    return password


def secret_hint(api_key: str, data_dir_args: str = "") -> str:
    """Stands in for a secret in a printed CLOUDINARY_URL; cannot be mistaken for one."""
    return f"<secret: darkroom keys show {api_key}{data_dir_args}>"


def cloudinary_url(key: ApiKey, secret: str, base_url: str) -> str:
    """The CLOUDINARY_URL an SDK needs to upload to and deliver from `base_url`."""
    authority = base_url.split("://", 1)[1]
    return f"cloudinary://{key.api_key}:{secret}@{key.cloud}?upload_prefix={base_url}&cname={authority}"


def banner_lines(listener: Listener, started: FirstStart, data_dir_args: str = "") -> list[str]:
    """The start-up banner; `data_dir_args` (e.g. ` --data-dir X`) completes the commands it names."""
    key = started.key
    lines = [f"darkroom {__version__}: serving on {listener.base_url}"]
    if started.key_is_new:
        lines.append(f"CLOUDINARY_URL={cloudinary_url(key, key.api_secret, listener.base_url)}")
        lines.append(f"  (a new key: its secret is printed this once; `darkroom keys show {key.api_key}{data_dir_args}` prints it again)")
    else:
        lines.append(f"CLOUDINARY_URL={cloudinary_url(key, secret_hint(key.api_key, data_dir_args), listener.base_url)}")
    lines.append(f"console: {listener.base_url}/console")
    if started.admin_password is not None:
        lines.append(f"  sign in as {FIRST_USER} with password {started.admin_password}")
        lines.append(
            f"  (printed this once; change it with `darkroom users set-password {FIRST_USER}{data_dir_args}`,"
            f" add people with `darkroom users create NAME{data_dir_args}`)"
        )
    return lines


def run_uvicorn(listener: Listener, *, workers: int, tls_cert: str | None, tls_key: str | None, log_level: str, log_format: str = "text") -> None:
    """Serve the app on the already bound socket until interrupted."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from darkroom.server import HTTP_PROTOCOL, logging_config, worker_metrics_dir

    config = uvicorn.Config(
        "darkroom.server:app_from_env",
        factory=True,
        host=listener.host,
        port=listener.port,
        workers=workers,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        log_level=log_level,
        log_config=logging_config(log_format, log_level),
        access_log=False,  # darkroom.access logs each request, with its ID and timing
        proxy_headers=False,
        http=HTTP_PROTOCOL,  # repeated image requests answered before an ASGI task (darkroom/hit_lane.py)
    )
    server = uvicorn.Server(config)
    try:
        with worker_metrics_dir(workers):  # --workers N: /metrics reports all of them
            if config.workers > 1:
                Multiprocess(config, sockets=[listener.sock]).run()
            else:
                server.run(sockets=[listener.sock])
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(3)  # uvicorn's start-up failure status; it has logged why
