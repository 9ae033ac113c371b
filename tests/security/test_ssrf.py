"""Upload from a URL must never reach a private address: every spelling of one, every way
of hiding it, and every redirect towards one.

Two servers: `closed` has the default policy (no private address allowed), and is the
target of every address form; `attacker` (the shared test server) may fetch from
127.0.0.1/32 only, which lets a scripted origin there redirect elsewhere — the redirect's
target must be checked as the first hop was.
"""

from __future__ import annotations

import base64
import ipaddress
import socket

import pytest

from tests.security.conftest import Attacker, Origin, assert_refused, unique

NON_PUBLIC = "resolves to a non-public address"
UNRESOLVABLE = "cannot resolve"

# (URL with PORT for the loopback origin's port, the refusal's wording). Every one must be a
# 4xx whose message says why, and the origin must see no request.
ADDRESS_FORMS: list[tuple[str, str]] = [
    ("http://127.0.0.1:PORT/ok.png", NON_PUBLIC),
    ("http://2130706433:PORT/ok.png", NON_PUBLIC),  # decimal
    ("http://0177.0.0.1:PORT/ok.png", NON_PUBLIC),  # octal
    ("http://0x7f.0.0.1:PORT/ok.png", NON_PUBLIC),  # hex octet
    ("http://0x7f000001:PORT/ok.png", NON_PUBLIC),  # hex number
    ("http://127.1:PORT/ok.png", NON_PUBLIC),  # short form
    ("http://0:PORT/ok.png", NON_PUBLIC),
    ("http://0.0.0.0:PORT/ok.png", NON_PUBLIC),
    ("http://[::1]:PORT/ok.png", NON_PUBLIC),
    ("http://[::]:PORT/ok.png", NON_PUBLIC),
    ("http://[::ffff:127.0.0.1]:PORT/ok.png", NON_PUBLIC),  # IPv4-mapped
    ("http://[::ffff:7f00:1]:PORT/ok.png", NON_PUBLIC),
    ("http://[0:0:0:0:0:ffff:127.0.0.1]:PORT/ok.png", NON_PUBLIC),
    ("http://[::127.0.0.1]:PORT/ok.png", NON_PUBLIC),  # IPv4-compatible (deprecated)
    ("http://[64:ff9b::127.0.0.1]:PORT/ok.png", NON_PUBLIC),  # NAT64: a translating network sends it to 127.0.0.1
    ("http://[64:ff9b::10.0.0.1]:PORT/ok.png", NON_PUBLIC),
    ("http://[2002:7f00:1::]:PORT/ok.png", NON_PUBLIC),  # 6to4 of 127.0.0.1
    ("http://[::1%25lo]:PORT/ok.png", NON_PUBLIC),  # with a zone
    ("http://[fe80::1]:PORT/ok.png", NON_PUBLIC),
    ("http://localhost:PORT/ok.png", NON_PUBLIC),  # a name that resolves to loopback
    ("http://LOCALHOST:PORT/ok.png", NON_PUBLIC),
    ("http://localhost.:PORT/ok.png", ""),  # trailing dot: refused, whether resolved or not
    ("http://127。0。0。1:PORT/ok.png", NON_PUBLIC),  # ideographic full stops (IDNA maps them to dots)
    ("http://①②⑦.0.0.1:PORT/ok.png", NON_PUBLIC),  # enclosed digits (IDNA maps them to 127)
    ("http://%31%32%37.0.0.1:PORT/ok.png", UNRESOLVABLE),  # percent-encoded host is not decoded
    ("http://169.254.169.254/latest/meta-data/", NON_PUBLIC),  # cloud metadata
    ("http://10.0.0.1/", NON_PUBLIC),
    ("http://172.16.0.1/", NON_PUBLIC),
    ("http://192.168.0.1/", NON_PUBLIC),
    ("http://100.64.0.1/", NON_PUBLIC),  # carrier-grade NAT
    ("http://224.0.0.1/", NON_PUBLIC),  # multicast
    ("http://255.255.255.255/", NON_PUBLIC),
    # userinfo and fragment tricks: the host is what follows the last @, before any # or /
    ("http://example.com@127.0.0.1:PORT/ok.png", NON_PUBLIC),
    ("http://example.com:80@127.0.0.1:PORT/ok.png", NON_PUBLIC),
    ("http://user:pass@localhost:PORT/ok.png", NON_PUBLIC),
    ("http://127.0.0.1:PORT#@example.com/ok.png", NON_PUBLIC),
    ("http://127.0.0.1:PORT?@example.com/ok.png", NON_PUBLIC),
    ("HTTP://127.0.0.1:PORT/ok.png", NON_PUBLIC),
    # malformed: refused as such
    ("http:///127.0.0.1:PORT/ok.png", "Invalid remote URL"),
    ("http://127.0.0.1:99999/ok.png", "Invalid remote URL"),
    ("http://127.0.0.1:-1/ok.png", "Invalid remote URL"),
    ("http://[::1/ok.png", ""),
    # other schemes
    ("file:///etc/passwd", "Invalid file parameter"),
    ("ftp://127.0.0.1:PORT/ok.png", "Unsupported remote file scheme"),
    ("gopher://127.0.0.1:PORT/_", "Invalid file parameter"),
    ("dict://127.0.0.1:PORT/", "Invalid file parameter"),
    ("s3://bucket/key", "Unsupported remote file scheme"),
]


def _port(origin: Origin) -> str:
    return origin.base_url.rsplit(":", 1)[1]


@pytest.mark.parametrize(("url", "wording"), ADDRESS_FORMS, ids=[url for url, _ in ADDRESS_FORMS])
def test_private_address_form_is_refused_before_any_request(closed: Attacker, origin: Origin, url: str, wording: str) -> None:
    url = url.replace("PORT", _port(origin))
    seen_before = len(origin.seen)
    public_id = unique("ssrf")
    message = assert_refused(closed.upload(file=url, public_id=public_id))
    assert wording in message, message
    assert len(origin.seen) == seen_before, f"the origin was asked for {origin.seen[seen_before:]}"
    assert not closed.is_stored(public_id)


def test_this_hosts_own_name_is_refused(closed: Attacker, origin: Origin) -> None:
    """Whatever the machine's name resolves to here, if it is private it is refused."""
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    response = closed.upload(file=f"http://{name}:{_port(origin)}/ok.png", public_id=unique("ssrf-host"))
    if any(not _public(address) for address in addresses):
        assert NON_PUBLIC in assert_refused(response)


def _public(address: str) -> bool:
    return ipaddress.ip_address(address.split("%")[0]).is_global


def test_allow_listed_origin_is_fetched(attacker: Attacker, origin: Origin) -> None:
    """The control for the redirect cases: 127.0.0.1 is allowed on this server, so refusals
    below are the redirect target's, not the origin's."""
    public_id = unique("ssrf-ok")
    response = attacker.upload(file=f"{origin.base_url}/ok.png", public_id=public_id)
    assert response.status_code == 200, response.text
    assert attacker.is_stored(public_id)


def test_redirect_to_allowed_origin_is_followed(attacker: Attacker, origin: Origin) -> None:
    url = origin.redirect("/hop-to-ok", f"{origin.base_url}/ok.png")
    assert attacker.upload(file=url, public_id=unique("ssrf-hop")).status_code == 200


REDIRECT_TARGETS = [
    "http://127.0.0.2:PORT/ok.png",  # loopback, but outside the allow-list
    "http://2130706434:PORT/ok.png",  # the same, in decimal
    "http://[::1]:PORT/ok.png",
    "http://[::ffff:127.0.0.2]:PORT/ok.png",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://10.1.2.3/",
    "http://[fd00::1]/",
    "http://0/",
]


@pytest.mark.parametrize("target", REDIRECT_TARGETS)
def test_redirect_to_private_address_is_refused(attacker: Attacker, origin: Origin, target: str) -> None:
    target = target.replace("PORT", _port(origin))
    path = f"/redirect-{abs(hash(target))}"
    url = origin.redirect(path, target)
    public_id = unique("ssrf-redirect")
    message = assert_refused(attacker.upload(file=url, public_id=public_id))
    assert NON_PUBLIC in message, message
    assert not attacker.is_stored(public_id)


def test_redirect_chain_ending_private_is_refused(attacker: Attacker, origin: Origin) -> None:
    last = origin.redirect("/chain-3", "http://169.254.169.254/")
    middle = origin.redirect("/chain-2", last)
    first = origin.redirect("/chain-1", middle)
    message = assert_refused(attacker.upload(file=first, public_id=unique("ssrf-chain")))
    assert NON_PUBLIC in message


def test_redirect_loop_ends_with_a_refusal(attacker: Attacker, origin: Origin) -> None:
    url = origin.redirect("/loop", f"{origin.base_url}/loop")
    message = assert_refused(attacker.upload(file=url, public_id=unique("ssrf-loop")))
    assert "too many redirects" in message


def test_redirect_to_another_scheme_is_refused(attacker: Attacker, origin: Origin) -> None:
    url = origin.redirect("/to-file", "file:///etc/passwd")
    assert_refused(attacker.upload(file=url, public_id=unique("ssrf-scheme")))


def test_fetched_layer_is_checked_like_an_upload(closed: Attacker, origin: Origin, small_png: bytes) -> None:
    """`l_fetch:` overlays go through the same check: a private URL is refused, not rendered."""
    public_id = unique("ssrf-base")
    assert closed.upload(small_png, public_id=public_id).status_code == 200
    seen_before = len(origin.seen)
    for target in (f"{origin.base_url}/ok.png", "http://169.254.169.254/x.png", "http://[::1]/x.png"):
        encoded = base64.urlsafe_b64encode(target.encode()).decode()
        response = closed.get(f"/{closed.server.cloud}/image/upload/l_fetch:{encoded}/{public_id}.png")
        assert 400 <= response.status_code < 500, f"{target}: {response.status_code} {response.text[:200]}"
    assert len(origin.seen) == seen_before
