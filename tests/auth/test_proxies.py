"""Whose word on the client's address and scheme counts (auth/proxies.py)."""

from __future__ import annotations

import ipaddress

import pytest

from darkroom.auth.proxies import Origin, behind_proxies, parse_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


def test_without_trusted_proxies_the_headers_are_ignored() -> None:
    assert behind_proxies("10.0.0.5", "http", ["203.0.113.9"], ["https"], ()) == Origin("10.0.0.5", "http")


def test_from_an_untrusted_peer_the_headers_are_ignored() -> None:
    assert behind_proxies("198.51.100.1", "http", ["203.0.113.9"], ["https"], PROXIES) == Origin("198.51.100.1", "http")


def test_the_client_is_the_right_most_untrusted_hop() -> None:
    # The client wrote "1.2.3.4" itself; the first proxy appended the address it saw.
    origin = behind_proxies("10.0.0.5", "http", ["1.2.3.4, 203.0.113.9", "10.0.0.7"], ["http, https"], PROXIES)
    assert origin == Origin("203.0.113.9", "https")


def test_a_chain_of_only_trusted_proxies_gives_the_left_most() -> None:
    assert behind_proxies("10.0.0.5", "http", ["10.1.1.1, 10.2.2.2"], [], PROXIES) == Origin("10.1.1.1", "http")


def test_garbage_in_the_chain_stops_the_walk() -> None:
    assert behind_proxies("10.0.0.5", "http", ["203.0.113.9, not-an-address"], [], PROXIES) == Origin("10.0.0.5", "http")
    assert behind_proxies("10.0.0.5", "http", [], ["gopher"], PROXIES) == Origin("10.0.0.5", "http")


@pytest.mark.parametrize(("text", "address"), [
    ("1.2.3.4", "1.2.3.4"), ("1.2.3.4:5678", "1.2.3.4"), ("::1", "::1"), ("[2001:db8::1]:443", "2001:db8::1"), ("x", None), ("", None),
])
def test_addresses_as_proxies_write_them(text: str, address: str | None) -> None:
    parsed = parse_address(text)
    assert (str(parsed) if parsed else None) == address
