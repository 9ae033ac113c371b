"""`darkroom users …` (console operators) and `darkroom tokens …` (bearer tokens for machines).

Both print a secret at most once: a password is read from a prompt (or stdin with
`--password-stdin`, for scripts) and never echoed; a token is shown when created and only
its hash is kept.
"""

from __future__ import annotations

import sys

import click

from darkroom import cli
from darkroom.cli.options import data_dir_option, settings_for
from darkroom.catalog import Engine
from darkroom.errors import DarkroomError
from darkroom.media import sessions

__all__ = ["users", "tokens"]


def _engine(data_dir: str | None) -> Engine:
    """The migrated metadata database, as `darkroom serve` would open it."""
    return cli._engine(settings_for(data_dir))


def _fail(exc: DarkroomError) -> None:
    raise click.ClickException(exc.message)


def _known_user(engine: Engine, username: str) -> Engine:
    """`engine`, once `username` is known to exist: else exit 1 before asking for a password."""
    if not any(user.username == username for user in sessions.list_users(engine)):
        raise click.ClickException(f"unknown user {username!r} (`darkroom users list` shows who exists)")
    return engine


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


# ---- users ------------------------------------------------------------------------------


@click.group()
def users() -> None:
    """Console operators: who may sign in at /console."""


@users.command("create")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@data_dir_option
def users_create(username: str, password_stdin: bool, data_dir: str | None) -> None:
    """Create an operator who may sign in to the console.

    The password is read from a prompt (or stdin) and stored as an argon2id hash.
    """
    password = _read_password(password_stdin)
    try:
        sessions.create_user(_engine(data_dir), username, password)
    except DarkroomError as exc:
        _fail(exc)
    click.echo(f"Created user {username}")


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@data_dir_option
def users_set_password(username: str, password_stdin: bool, data_dir: str | None) -> None:
    """Replace a user's password.

    Also unlocks the account and signs out its sessions; this is how a forgotten password,
    the first `admin`'s included, is reset.
    """
    engine = _known_user(_engine(data_dir), username)
    password = _read_password(password_stdin)
    try:
        sessions.set_password(engine, username, password)
    except DarkroomError as exc:
        _fail(exc)
    click.echo(f"Password changed for {username}")


@users.command("list")
@data_dir_option
def users_list(data_dir: str | None) -> None:
    """List operators, with last sign-in and lock state."""
    engine = _engine(data_dir)
    for user in sessions.list_users(engine):
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
        locked = "".join(
            f"  locked until {lock.until:%H:%M:%S} UTC " + ("from every address" if lock.client == "*" else f"from {lock.client}")
            for lock in sessions.user_locks(engine, user.username)
        )
        click.echo(f"{user.username}\tlast sign-in {last}{locked}")


@users.command("unlock")
@click.argument("username")
@data_dir_option
def users_unlock(username: str, data_dir: str | None) -> None:
    """Clear a lock-out after too many failed sign-ins."""
    engine = _known_user(_engine(data_dir), username)
    try:
        sessions.unlock_user(engine, username)
    except DarkroomError as exc:
        _fail(exc)
    click.echo(f"Unlocked {username}")


@users.command("delete")
@click.argument("username")
@data_dir_option
def users_delete(username: str, data_dir: str | None) -> None:
    """Delete an operator and end their sessions."""
    engine = _known_user(_engine(data_dir), username)
    try:
        sessions.delete_user(engine, username)
    except DarkroomError as exc:
        _fail(exc)
    click.echo(f"Deleted {username}")


# ---- tokens -----------------------------------------------------------------------------


@click.group()
def tokens() -> None:
    """Bearer tokens for machine callers.

    For example the TinaCMS media store (scope `media`).
    """


@tokens.command("create")
@click.option("--scope", required=True, metavar="SCOPE", help="What the token may do: media = the TinaCMS media store.")
@click.option("--label", default="", help="A note to recognise the token by.")
@data_dir_option
def tokens_create(scope: str, label: str, data_dir: str | None) -> None:
    """Create a token and print it once.

    Only its SHA-256 is stored, so it cannot be shown again.
    """
    try:
        token, text = sessions.create_access_token(_engine(data_dir), scope, label)
    except DarkroomError as exc:
        _fail(exc)
    click.echo(f"# token {token.id} (scope {token.scope}); shown once, store it now", err=True)
    click.echo(text)


@tokens.command("list")
@click.option("--scope", default=None, help="Only tokens of this scope (e.g. media).")
@data_dir_option
def tokens_list(scope: str | None, data_dir: str | None) -> None:
    """List tokens, never the tokens themselves.

    Shows ids, scopes, state, creation time and labels.
    """
    for token in sessions.list_access_tokens(_engine(data_dir), scope):
        state = "revoked" if token.revoked_at else "active"
        click.echo(f"{token.id}\t{token.scope}\t{state}\t{token.created_at:%Y-%m-%d %H:%M}\t{token.label}")


@tokens.command("revoke")
@click.argument("token_id")
@data_dir_option
def tokens_revoke(token_id: str, data_dir: str | None) -> None:
    """Revoke a token by its id (from `tokens list`)."""
    try:
        sessions.revoke_access_token(_engine(data_dir), token_id)
    except DarkroomError as exc:
        _fail(exc)
    click.echo(f"Revoked {token_id}")
