"""The `darkroom` command line: help everywhere, keys, migrate, HTTPS serving, errors for unknown names."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import click
import httpx
import pytest
import trustme
from click.testing import CliRunner

import darkroom as darkroom_package
from darkroom.cli import docs as cli_docs
from darkroom.cli import main

from support import start_server, stop_server, wait_until_healthy


def darkroom(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    env = {k: v for k, v in os.environ.items() if k not in ("CLOUDINARY_URL", "DARKROOM_DATABASE_URL")}
    return subprocess.run([sys.executable, "-m", "darkroom", *args, *extra], capture_output=True, text=True, env=env)


@pytest.mark.parametrize(
    "command",
    [(), ("serve",), ("migrate",), ("keys",), ("keys", "create"), ("keys", "list"), ("keys", "revoke"), ("policies",), ("policies", "create")],
)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = darkroom(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    assert darkroom("migrate", data_dir=tmp_path).returncode == 0
    created = dict(line.split("=", 1) for line in darkroom("keys", "create", "--cloud", "acme", data_dir=tmp_path).stdout.split())
    assert created["cloud"] == "acme" and len(created["api_key"]) == 15
    listing = darkroom("keys", "list", "--cloud", "acme", data_dir=tmp_path).stdout
    assert created["api_key"] in listing and "active" in listing
    assert created["api_secret"] not in listing
    assert darkroom("keys", "revoke", created["api_key"], data_dir=tmp_path).returncode == 0
    assert "revoked" in darkroom("keys", "list", "--cloud", "acme", data_dir=tmp_path).stdout
    assert darkroom("keys", "revoke", created["api_key"], data_dir=tmp_path).returncode != 0


def test_serve_over_https_with_a_generated_certificate(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    server = start_server(tmp_path, f"sqlite:///{tmp_path / 'd.db'}", args=("--tls-cert", str(cert), "--tls-key", str(key)))
    try:
        trusted = ssl.create_default_context(cafile=str(ca))
        wait_until_healthy(server.base_url, server.process, verify=trusted)
        assert server.base_url.startswith("https://")
        assert httpx.get(f"{server.base_url}/health", verify=trusted).json() == {"status": "ok"}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base_url}/health")  # untrusted without the test CA
    finally:
        stop_server(server)


# ---- the command tree: version, complete help, errors for unknown names, the README's list ----


def _commands(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in group.commands.items():
        found.append(((*path, name), command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*path, name)))
    return found


def test_version_names_the_package_version() -> None:
    result = darkroom("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"darkroom {darkroom_package.__version__}"


@pytest.mark.parametrize(("path", "command"), _commands(), ids=lambda value: " ".join(value) if isinstance(value, tuple) else "")
def test_every_command_has_a_complete_summary_and_every_option_a_help(path: tuple[str, ...], command: click.Command) -> None:
    first_line = (command.help or "").strip().splitlines()[0] if command.help else ""
    assert first_line.endswith((".", ")")), f"{' '.join(path)}: the docstring's first line is its summary"
    # click's summary stops at the first ". " (an "e.g." cuts it); its length is checked on the help pages below.
    assert command.get_short_help_str(limit=1000) == first_line, "the summary is cut off in the group's listing"
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


@pytest.mark.parametrize("group", [(), *[path for path, command in _commands() if isinstance(command, click.Group)]])
def test_no_help_page_cuts_a_summary_off(group: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*group, "--help"], terminal_width=80)
    assert result.exit_code == 0
    listing = result.output.split("Commands:", 1)[1]
    assert "..." not in listing


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DARKROOM_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLOUDINARY_URL", raising=False)
    return lambda *args: CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path)])


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "list", "--cloud", "nonexistent"),
        ("policies", "list", "--cloud", "nonexistent"),
        ("policies", "create", "--cloud", "nonexistent", "--name", "web"),
        ("clouds", "set", "nonexistent", "--strict"),
    ],
)
def test_an_unknown_cloud_is_an_error(run, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == 1
    assert "unknown cloud 'nonexistent'" in result.output


@pytest.mark.parametrize("args", [("keys", "show", "123456789012345"), ("keys", "revoke", "123456789012345")])
def test_an_unknown_key_is_an_error(run, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == 1
    assert "unknown key '123456789012345'" in result.output


@pytest.mark.parametrize("args", [("users", "set-password", "nobody", "--password-stdin"), ("users", "unlock", "nobody"), ("users", "delete", "nobody")])
def test_an_unknown_user_is_an_error(run, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == 1
    assert "unknown user 'nobody'" in result.output


def test_keys_show_prints_the_secret_and_a_cloudinary_url_for_the_server(run) -> None:  # type: ignore[no-untyped-def]
    created = dict(line.split("=", 1) for line in run("keys", "create", "--cloud", "acme").output.split())
    shown = run("keys", "show", created["api_key"], "--server", "https://media.example.com:8443")
    assert shown.exit_code == 0, shown.output
    assert f"api_secret={created['api_secret']}" in shown.output
    expected = f"cloudinary://{created['api_key']}:{created['api_secret']}@acme?upload_prefix=https://media.example.com:8443&cname=media.example.com:8443"
    assert f"CLOUDINARY_URL={expected}" in shown.output
    run("keys", "revoke", created["api_key"])
    revoked = run("keys", "show", created["api_key"])
    assert revoked.exit_code == 1 and "revoked" in revoked.output and created["api_secret"] not in revoked.output


def test_the_readme_lists_every_command_as_the_cli_describes_it() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert cli_docs.replace_section(readme, cli_docs.command_list()) == readme, (
        "README.md's command list is stale: run `python -m darkroom.cli.docs README.md`"
    )
    for path, _command in _commands():
        assert f"`darkroom {' '.join(path)}" in readme
