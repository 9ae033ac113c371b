"""Settings: read once, every bad value reported at once, secrets masked, all documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom.config import SETTINGS, Settings, SettingsError, parse_cloudinary_url

README = Path(__file__).parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in text]
    assert not missing, f"undocumented settings: {missing}"


def test_every_setting_has_help() -> None:
    assert all(s.help.strip() for s in SETTINGS)


def test_all_bad_values_are_reported_together() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"DARKROOM_MAX_UPLOAD_BYTES": "lots", "DARKROOM_FETCH_ALLOW": "not-a-network", "CLOUDINARY_URL": "http://x"})
    message = str(caught.value)
    for name in ("DARKROOM_MAX_UPLOAD_BYTES", "DARKROOM_FETCH_ALLOW", "CLOUDINARY_URL"):
        assert name in message


def test_cloudinary_url_gives_cloud_key_and_masked_secret() -> None:
    creds = parse_cloudinary_url("cloudinary://123456789012345:s3cr3t@MyCloud?upload_prefix=http://127.0.0.1:8088")
    assert (creds.cloud_name, creds.api_key, creds.api_secret) == ("MyCloud", "123456789012345", "s3cr3t")
    assert "s3cr3t" not in repr(creds)


def test_defaults_put_everything_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"DARKROOM_DATA_DIR": str(tmp_path)})
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'darkroom.db'}"
    assert settings.resolved_storage_url == f"file://{tmp_path.resolve() / 'blobs'}"
