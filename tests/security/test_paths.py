"""Path and public-ID tricks: IDs that would climb out of their folder, hide a separator,
smuggle a control character or change under Unicode normalisation; and delivery paths that
try to reach the data folder. Refused with a 4xx, never a file outside the store.
"""

from __future__ import annotations

import http.client
import secrets
import unicodedata
from pathlib import Path

import httpx
import pytest

from tests.security.conftest import TIMEOUT, Attacker, assert_refused, unique

INVALID_ID = "Invalid public_id"

# (public_id, how it must be answered): a refusal's wording, or "stored" when the ID is
# legitimate however odd (then it is stored under exactly that ID).
PUBLIC_IDS: list[tuple[str, str]] = [
    ("..", INVALID_ID),
    ("../MARK", INVALID_ID),
    ("../../../../../../tmp/MARK", INVALID_ID),
    ("a/../MARK", INVALID_ID),
    ("./MARK", INVALID_ID),
    ("a/./MARK", INVALID_ID),
    ("a//MARK", INVALID_ID),
    ("/MARK", INVALID_ID),
    ("MARK/", INVALID_ID),
    ("a\\..\\MARK", INVALID_ID),
    ("MARK\x00.png", "public_id"),  # "must not contain NUL characters"
    ("MARK\n", "stored stripped"),  # surrounding whitespace is trimmed, as from any form field
    ("MARK\r\nX-Injected: 1", INVALID_ID),
    ("MARK\x7f", INVALID_ID),
    ("MARK" + "a" * 300, "too long"),
    ("a/" * 200 + "MARK", "too long"),
    # legitimate, if odd: stored as given, and only there
    ("..MARK", "stored"),
    ("MARK..", "stored"),
    ("%2e%2e/MARK", "stored"),  # percent signs are characters in an ID, not escapes
    ("a%2FMARK", "stored"),
    ("\uff0e\uff0e/MARK", "stored"),  # fullwidth full stops: NFKC would make them ".."
    ("\u2025/MARK", "stored"),  # two-dot leader
    ("caf\u00e9/MARK", "stored"),
    ("MARK\u202egnp.exe", "stored"),  # right-to-left override: a display trick, not a path one
]


def _marker() -> str:
    return f"mark{secrets.token_hex(4)}"


@pytest.mark.parametrize(("template", "outcome"), PUBLIC_IDS, ids=[repr(t)[:40] for t, _ in PUBLIC_IDS])
def test_public_id_trick(attacker: Attacker, small_png: bytes, template: str, outcome: str) -> None:
    marker = _marker()
    public_id = template.replace("MARK", marker)
    response = attacker.upload(small_png, public_id=public_id)
    if outcome.startswith("stored"):
        assert response.status_code == 200, response.text
        public_id = public_id.strip() if outcome == "stored stripped" else public_id
        assert response.json()["public_id"] == public_id
        assert attacker.is_stored(public_id)
    else:
        assert outcome in assert_refused(response), response.text
    _assert_no_file_named(attacker.server.data_dir.parent, marker)


def _assert_no_file_named(root: Path, marker: str) -> None:
    """Blobs are stored under opaque keys: no file anywhere near the data folder carries an ID."""
    assert not [path for path in root.rglob(f"*{marker}*")], f"a file named after {marker} was written"


@pytest.mark.parametrize("folder", ["..", "../..", "a/../..", "a//b", "a\\b", "a\x00b"])
def test_folder_trick_is_refused(attacker: Attacker, small_png: bytes, folder: str) -> None:
    marker = _marker()
    response = attacker.upload(small_png, public_id=marker, folder=folder)
    assert_refused(response)
    _assert_no_file_named(attacker.server.data_dir.parent, marker)


def test_nfc_and_nfd_ids_are_two_assets(attacker: Attacker, small_png: bytes) -> None:
    """Unicode normalisation is not applied behind the caller's back: the two spellings of
    "café" are two assets, and uploading one never overwrites the other."""
    stem = unique("norm")
    composed, decomposed = f"{stem}-caf\u00e9", unicodedata.normalize("NFD", f"{stem}-caf\u00e9")
    first = attacker.upload(small_png, public_id=composed)
    assert first.status_code == 200, first.text
    second = attacker.upload(small_png, public_id=decomposed, overwrite="false")
    assert second.status_code == 200, second.text
    assert second.json()["public_id"] == decomposed
    assert "existing" not in second.json()
    assert attacker.is_stored(composed) and attacker.is_stored(decomposed)


@pytest.mark.parametrize("new_id", ["../escaped", "a/../../b", "a\x00b", "/root", ""])
def test_rename_to_a_trick_id_is_refused(attacker: Attacker, small_png: bytes, new_id: str) -> None:
    public_id = unique("rename")
    assert attacker.upload(small_png, public_id=public_id).status_code == 200
    form = attacker.signed(from_public_id=public_id, to_public_id=new_id)
    response = httpx.post(f"{attacker.server.base_url}/v1_1/{attacker.server.cloud}/image/rename", data=form, timeout=TIMEOUT)
    assert_refused(response)
    assert attacker.is_stored(public_id)


# ---- delivery paths, sent byte for byte (no client-side normalisation) ----------------

DELIVERY_PATHS = [
    "/CLOUD/raw/upload/../../darkroom.db",
    "/CLOUD/raw/upload/../../../server.log",
    "/CLOUD/raw/upload/%2e%2e/%2e%2e/darkroom.db",
    "/CLOUD/raw/upload/..%2f..%2fdarkroom.db",
    "/CLOUD/raw/upload/..%2F..%2Fserver.log",
    "/CLOUD/raw/upload/..%5c..%5cdarkroom.db",
    "/CLOUD/raw/upload/%252e%252e/%252e%252e/darkroom.db",  # double-encoded
    "/CLOUD/raw/upload/%c0%ae%c0%ae/%c0%ae%c0%ae/darkroom.db",  # overlong UTF-8 dots
    "/CLOUD/image/upload/w_100/../../../../etc/passwd",
    "/CLOUD/image/upload/....//....//etc/passwd",
    "/CLOUD/image/upload/%00/etc/passwd",
    "/CLOUD/image/upload/a%00.png",
    "/CLOUD/image/upload//etc/passwd",
    "/CLOUD/image/upload/file:///etc/passwd",
    "/CLOUD/image/upload/blobs/CLOUD/originals/x",
    "/../../etc/passwd",
    "/CLOUD/raw/upload/v1/../../../darkroom.db",
    "/CLOUD/image/upload/" + "a" * 8000 + ".png",
    "/CLOUD/image/upload/" + "w_1," * 2000 + "/x.png",
    "/CLOUD/image/upload/" + "a/" * 3000 + "x.png",
]


def _raw_get(host: str, path: str) -> tuple[int, bytes, dict[str, str]]:
    connection = http.client.HTTPConnection(host, timeout=TIMEOUT)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@pytest.mark.parametrize("template", DELIVERY_PATHS, ids=[t[:60] for t in DELIVERY_PATHS])
def test_delivery_path_trick_is_refused_and_leaks_nothing(attacker: Attacker, template: str) -> None:
    path = template.replace("CLOUD", attacker.server.cloud)
    status, body, headers = _raw_get(attacker.server.host, path)
    assert 400 <= status < 500, f"{status} for {path[:100]}: {body[:200]!r}"
    assert b"SQLite format" not in body and b"root:" not in body
    assert attacker.server.api_secret.encode() not in body
    if headers.get("content-type", "").startswith("application/json"):
        assert b'"error"' in body
