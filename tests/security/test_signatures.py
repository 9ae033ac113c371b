"""The signature-tampering corpus, as a table: each case, what it does to a genuine signed
request, and the status it must get. Extends tests/api/test_tampering.py (which keeps its
own cases) with the tricks that play on how parameters are read rather than on their values.

Every refused case must also store nothing.
"""

from __future__ import annotations

import hashlib
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import httpx
import pytest
from support import LiveServer, configure_sdk

from tests.security.conftest import TIMEOUT, Attacker, assert_refused, unique

Form = dict[str, object]


@dataclass(frozen=True)
class Tampering:
    name: str
    alter: Callable[[Form, Attacker], Form]  # a genuine signed form in, the form sent out
    status: int  # what darkroom must answer
    message: str  # how the error message starts ("" for a 200)


def _resigned(form: Form, secret: str) -> str:
    signed = sorted((k, str(v)) for k, v in form.items() if k not in ("signature", "api_key", "file") and v)
    to_sign = "&".join(f"{k}={v}" for k, v in signed)  # the SDK's string to sign, which refuses an empty secret
    return hashlib.sha1((to_sign + secret).encode()).hexdigest()


def _with(**changes: object) -> Callable[[Form, Attacker], Form]:
    return lambda form, _attacker: {**form, **changes}


def _nfd_public_id(form: Form, attacker: Attacker) -> Form:
    composed = f"{form['public_id']}-caf\u00e9"
    params = {k: str(v) for k, v in form.items() if k not in ("signature", "api_key", "public_id")}
    return {**attacker.signed(**params, public_id=composed), "public_id": unicodedata.normalize("NFD", composed)}


CORPUS = [
    # controls: the genuine request, and changes that are not forgeries
    Tampering("genuine", _with(), 200, ""),
    Tampering("signature in upper-case hex", lambda f, _a: {**f, "signature": str(f["signature"]).upper()}, 200, ""),
    Tampering("public_id also in the query string is ignored", _with(), 200, ""),  # see test body
    # reading a parameter twice
    Tampering("public_id sent twice, forged one last", lambda f, _a: {**f, "public_id": [f["public_id"], "sec/forged"]}, 401, "Invalid Signature "),
    Tampering("public_id sent twice, forged one first", lambda f, _a: {**f, "public_id": ["sec/forged", f["public_id"]]}, 401, "Invalid Signature "),
    # names and encodings
    Tampering("parameter name in another case", lambda f, _a: {**{k: v for k, v in f.items() if k != "public_id"}, "Public_id": f["public_id"]}, 401, "Invalid Signature "),
    Tampering("public_id in NFD after signing NFC", _nfd_public_id, 401, "Invalid Signature "),
    Tampering("signature_algorithm=sha256 on a sha1 signature", _with(signature_algorithm="sha256"), 401, "Invalid Signature "),
    Tampering("signature with a leading space", lambda f, _a: {**f, "signature": " " + str(f["signature"])}, 401, "Invalid Signature "),
    Tampering("signature that is not hex", _with(signature="z" * 40), 401, "Invalid Signature "),
    Tampering("signature of 400 hex digits", _with(signature="a" * 400), 401, "Invalid Signature "),
    Tampering("empty signature is an unsigned upload", _with(signature=""), 400, "Upload preset must be specified"),
    Tampering("signature made with the api_key as secret", lambda f, a: {**f, "signature": _resigned(f, a.server.api_key)}, 401, "Invalid Signature "),
    Tampering("signature made with an empty secret", lambda f, a: {**f, "signature": _resigned(f, "")}, 401, "Invalid Signature "),
    # timestamps that are not a time (signed correctly: the refusal is about the value)
    Tampering("timestamp with a plus sign", lambda f, a: _signed_with_timestamp(a, f, "+" + str(int(time.time()))), 400, "Invalid timestamp - "),
    Tampering("timestamp with a fraction", lambda f, a: _signed_with_timestamp(a, f, f"{int(time.time())}.5"), 400, "Invalid timestamp - "),
    Tampering("timestamp in hex", lambda f, a: _signed_with_timestamp(a, f, hex(int(time.time()))), 400, "Invalid timestamp - "),
    Tampering("timestamp of 400 digits", lambda f, a: _signed_with_timestamp(a, f, "9" * 400), 400, "Invalid timestamp - "),
    Tampering("timestamp an hour and a bit old", lambda f, a: _signed_with_timestamp(a, f, str(int(time.time()) - 3700)), 401, "Stale request"),
    Tampering("timestamp ten years ahead", lambda f, a: _signed_with_timestamp(a, f, str(int(time.time()) + 10 * 365 * 86400)), 401, "Stale request"),
    Tampering("timestamp of zero", lambda f, a: _signed_with_timestamp(a, f, "0"), 401, "Stale request"),
    # credentials
    Tampering("api_key of 400 digits", _with(api_key="9" * 400), 401, "Unknown API key"),
    Tampering("api_key missing", lambda f, _a: {k: v for k, v in f.items() if k != "api_key"}, 401, "Must supply api_key"),
]


def _signed_with_timestamp(attacker: Attacker, form: Form, timestamp: str) -> Form:
    params = {k: str(v) for k, v in form.items() if k not in ("signature", "api_key", "timestamp")}
    return attacker.signed(**params, timestamp=timestamp)


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_tampered_upload_gets_its_expected_status_and_stores_nothing(attacker: Attacker, small_png: bytes, case: Tampering) -> None:
    public_id = unique("sig")
    form = case.alter(attacker.signed(public_id=public_id, tags="a,b"), attacker)
    query = {"public_id": "sec/forged"} if "query string" in case.name else None
    response = httpx.post(attacker.upload_url, data=form, params=query, files={"file": ("f.png", small_png)}, timeout=TIMEOUT)
    if case.status == 200:
        assert response.status_code == 200, response.text
        assert response.json()["public_id"] == public_id
        return
    message = assert_refused(response, case.status)
    assert message.startswith(case.message), message
    sent = form.get("public_id", [])
    for candidate in {public_id, "sec/forged", *(sent if isinstance(sent, list) else [sent])}:
        assert not attacker.is_stored(str(candidate)), candidate


# ---- signed delivery URLs --------------------------------------------------------------


@pytest.fixture
def authenticated_asset(sqlite_server: LiveServer, small_png: bytes) -> Iterator[tuple[LiveServer, str]]:
    configure_sdk(sqlite_server)
    try:
        public_id = unique("auth")
        cloudinary.uploader.upload(small_png, public_id=public_id, type="authenticated")
        yield sqlite_server, public_id
    finally:
        cloudinary.reset_config()


def _signed_url(server: LiveServer, public_id: str, transformation: str = "w_4") -> str:
    url, _options = cloudinary.utils.cloudinary_url(
        public_id, type="authenticated", sign_url=True, raw_transformation=transformation, format="png",
        cloud_name=server.cloud, api_key=server.api_key, api_secret=server.api_secret, secure=False, cname=server.host,
        private_cdn=False, secure_distribution=None,
    )
    return str(url).replace(f"http://{server.host}/", f"{server.base_url}/", 1)


URL_TAMPERINGS: dict[str, Callable[[str, str], str]] = {
    "transformation changed": lambda url, pid: url.replace("/w_4/", "/w_5/"),
    "transformation added": lambda url, pid: url.replace("/w_4/", "/w_4/e_grayscale/"),
    "transformation removed": lambda url, pid: url.replace("/w_4/", "/"),
    "public_id changed": lambda url, pid: url.replace(pid, pid + "x"),
    "signature of another secret": lambda url, pid: url.replace(url.split("/s--")[1].split("--")[0], "AAAAAAAA"),
    "signature dropped": lambda url, pid: url.replace("/s--" + url.split("/s--")[1].split("--/")[0] + "--", ""),
    "signature moved after the transformation": lambda url, pid: _move_signature(url),
    "extension changed to svg": lambda url, pid: url.replace(".png", ".svg"),
    "transformation percent-encoded": lambda url, pid: url.replace("/w_4/", "/w%5F4/"),
}


def _move_signature(url: str) -> str:
    head, rest = url.split("/s--", 1)
    signature, tail = rest.split("--/", 1)
    transformation, name = tail.split("/", 1)
    return f"{head}/{transformation}/s--{signature}--/{name}"


def test_genuine_signed_url_of_authenticated_asset_is_delivered(authenticated_asset: tuple[LiveServer, str]) -> None:
    server, public_id = authenticated_asset
    response = httpx.get(_signed_url(server, public_id), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"


@pytest.mark.parametrize("tamper", URL_TAMPERINGS, ids=list(URL_TAMPERINGS))
def test_tampered_signed_url_is_refused(authenticated_asset: tuple[LiveServer, str], tamper: str) -> None:
    server, public_id = authenticated_asset
    genuine = _signed_url(server, public_id)
    url = URL_TAMPERINGS[tamper](genuine, public_id)
    assert url != genuine
    response = httpx.get(url, timeout=TIMEOUT)
    assert response.status_code in (400, 401, 403, 404), f"{response.status_code} {url}"
    assert response.headers.get("x-cld-error"), "delivery errors carry X-Cld-Error"
