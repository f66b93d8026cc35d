"""Semantic rules of recipes that a type alone cannot say: lists without repeats, networks that are not the whole
internet in disguise, names S3 and MinIO accept. Each raises ValueError with the message validation prints."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, TypeVar

from pydantic import AfterValidator

T = TypeVar("T")

# Larger than this is "the internet" for an allow-list: a /8 is 16.7 million addresses, a /32 in IPv6 an ISP's.
WIDEST_V4, WIDEST_V6 = 8, 32
IP_LIKE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def no_repeats(values: list[T]) -> list[T]:
    seen: set[Any] = set()
    for value in values:
        key = value.lower() if isinstance(value, str) else value
        if key in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(key)
    return values


def allowed_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A network an allow-list may name: CIDR form, and no wider than a /8 (IPv4) or /32 (IPv6); an IPv4-mapped
    IPv6 network is judged as the IPv4 network it maps."""
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"{cidr!r} is not a network in CIDR form ({exc})") from None
    judged: ipaddress.IPv4Network | ipaddress.IPv6Network = net
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
        judged = ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
    widest = WIDEST_V4 if judged.version == 4 else WIDEST_V6
    if judged.prefixlen == 0:
        raise ValueError(f"{cidr!r} opens the server to the whole internet; list the networks that need it")
    if judged.prefixlen < widest:
        raise ValueError(
            f"{cidr!r} opens the server to {judged.num_addresses:.3g} addresses (wider than a /{widest}); "
            "list the networks that need it"
        )
    return net


def allowed_networks(cidrs: list[str]) -> list[str]:
    """Each network allowed, none repeated, and together no wider than the widest one allowed (so [0.0.0.0/9,
    128.0.0.0/9, ...] cannot add up to the internet)."""
    nets = [allowed_network(c) for c in no_repeats(cidrs)]
    for version, widest in ((4, WIDEST_V4), (6, WIDEST_V6)):
        total = sum(n.num_addresses for n in nets if n.version == version)
        if total > 2 ** ((32 if version == 4 else 128) - widest):
            raise ValueError(
                f"together these networks open the server to {total:.3g} IPv{version} addresses (more "
                f"than a /{widest}); list the networks that need it"
            )
    return cidrs


def bucket_name(name: str) -> str:
    """What S3 (and MinIO) refuse beyond the pattern: IP-address form and dots next to dots or dashes."""
    if IP_LIKE.match(name):
        raise ValueError(f"bucket name {name!r} looks like an IP address, which S3 refuses")
    if ".." in name or ".-" in name or "-." in name:
        raise ValueError(f"bucket name {name!r} has '..', '.-' or '-.', which S3 refuses")
    return name


Unique = AfterValidator(no_repeats)
