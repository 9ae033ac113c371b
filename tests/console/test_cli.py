"""`darkroom users …` and `darkroom tokens …`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from darkroom import catalog
from darkroom.media import sessions
from darkroom.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DARKROOM_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLOUDINARY_URL", raising=False)

    def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(main, [*args, "--data-dir", str(tmp_path)], input=stdin)

    return invoke


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return catalog.create_engine_for(f"sqlite:///{(tmp_path / 'darkroom.db').resolve()}")


def test_users_create_list_unlock_delete(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    created = run("users", "create", "ada", "--password-stdin", stdin="a long password\n")
    assert created.exit_code == 0, created.output
    engine = _engine(tmp_path)
    assert sessions.authenticate(engine, "ada", "a long password") == "ada"
    assert "ada" in run("users", "list").output
    assert run("users", "unlock", "ada").exit_code == 0
    assert run("users", "create", "ada", "--password-stdin", stdin="a long password\n").exit_code == 1
    assert run("users", "delete", "ada").exit_code == 0
    assert "ada" not in run("users", "list").output
    engine.dispose()


def test_tokens_create_prints_the_token_once_and_can_be_revoked(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    created = run("tokens", "create", "--scope", "media", "--label", "cms")
    assert created.exit_code == 0, created.output
    text = created.output.strip().splitlines()[-1]
    assert text.startswith("drt_media_")
    engine = _engine(tmp_path)
    token = sessions.find_access_token(engine, text, "media")
    assert token is not None
    listing = run("tokens", "list").output
    assert token.id in listing and text not in listing
    assert run("tokens", "revoke", token.id).exit_code == 0
    assert sessions.find_access_token(engine, text, "media") is None
    engine.dispose()
