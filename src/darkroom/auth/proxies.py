"""Who is really asking, behind a reverse proxy: `DARKROOM_TRUSTED_PROXIES`.

A proxy in front of darkroom (TLS termination, a load balancer) makes every request come
from the proxy's address over plain HTTP; it says who the client was and which scheme it
used in `X-Forwarded-For` and `X-Forwarded-Proto`. Anyone can send those headers, so they
are believed only when the immediate peer is a trusted proxy, and then only as far as the
chain of trusted proxies goes: the client is the right-most address in `X-Forwarded-For`
that is not itself a trusted proxy (the left-most entries are whatever the client wrote).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Network", "Origin", "behind_proxies", "parse_address"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Origin:
    client: str | None  # the client's address
    scheme: str  # "http" or "https"


def parse_address(text: str) -> Address | None:
    """An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:5678`; None if not one."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address: Address | None, proxies: Iterable[Network]) -> bool:
    return address is not None and any(address.version == net.version and address in net for net in proxies)


def behind_proxies(peer: str | None, scheme: str, forwarded_for: list[str], forwarded_proto: list[str], proxies: tuple[Network, ...]) -> Origin:
    """The request's real client and scheme, given its peer and headers (every value of each).

    From an untrusted peer (or with no proxies configured) the headers are ignored.
    """
    if not proxies or not _trusted(parse_address(peer or ""), proxies):
        return Origin(peer, scheme)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            break  # not an address: nothing to its left can be believed either
        client = str(address)
        if not _trusted(address, proxies):
            break
    protos = [proto.strip().lower() for value in forwarded_proto for proto in value.split(",") if proto.strip()]
    if protos and protos[-1] in ("http", "https"):  # the nearest proxy's word
        scheme = protos[-1]
    return Origin(client, scheme)
