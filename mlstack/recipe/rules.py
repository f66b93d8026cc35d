"""Semantic rules of recipes that a type alone cannot say: lists without repeats, networks that are not the whole
internet in disguise, names S3 and MinIO accept. Each raises ValueError with the message validation prints."""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, TypeVar

from pydantic import AfterValidator

T = TypeVar("T")

# Larger than this is "the internet" for an allow-list: a /8 is 16.7 million addresses, a /32 in IPv6 an ISP's.
WIDEST_V4, WIDEST_V6 = 8, 32
IP_LIKE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
# No client's traffic comes from these: "this network", loopback, multicast and the reserved blocks.
NO_CLIENT = {
    ipaddress.ip_network(n): why
    for n, why in (
        ("0.0.0.0/8", "'this network' (RFC 1122), no client's address"),
        ("127.0.0.0/8", "loopback: only the server itself"),
        ("224.0.0.0/4", "multicast: no client's address"),
        ("240.0.0.0/4", "reserved: no client's address"),
        ("::/128", "the unspecified address"),
        ("::1/128", "loopback: only the server itself"),
        ("ff00::/8", "multicast: no client's address"),
    )
}
# Private networks (RFC 1918, shared address space, IPv6 unique-local and link-local): never the internet,
# whatever their width, so the width limit does not apply to them.
PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10")
)


def no_repeats(values: list[T]) -> list[T]:
    seen: set[Any] = set()
    for value in values:
        key = value.lower() if isinstance(value, str) else value
        if key in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(key)
    return values


def known_region(region: str, known: tuple[str, ...], what: str) -> str:
    """`region` if the cloud has it (`known`: the provider SDK's list, or one pinned where it ships none)."""
    if region not in known:
        near = difflib.get_close_matches(region, known, n=1, cutoff=0.6)
        raise ValueError(f"{region!r} is no {what}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    return region


def allowed_network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A network an allow-list may name: CIDR form; a network clients can be in (not 'this network', loopback,
    multicast or reserved); a private one (RFC 1918, IPv6 unique-local or link-local) at any width, any other no
    wider than a /8 (IPv4) or /32 (IPv6). An IPv4-mapped IPv6 network is judged as the IPv4 network it maps."""
    try:
        net = ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"{cidr!r} is not a network in CIDR form ({exc})") from None
    judged: ipaddress.IPv4Network | ipaddress.IPv6Network = net
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
        judged = ipaddress.ip_network(f"{net.network_address.ipv4_mapped}/{net.prefixlen - 96}")
    if judged.prefixlen == 0:
        raise ValueError(f"{cidr!r} opens the server to the whole internet; list the networks that need it")
    widest = WIDEST_V4 if judged.version == 4 else WIDEST_V6
    if not is_private(judged) and judged.prefixlen < widest:
        raise ValueError(
            f"{cidr!r} opens the server to {judged.num_addresses:.3g} addresses (wider than a /{widest}); "
            "list the networks that need it"
        )
    for block, why in NO_CLIENT.items():
        if block.version == judged.version and judged.overlaps(block):
            raise ValueError(f"{cidr!r} is {why}; list the networks your clients are in")
    return net


def is_private(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return any(block.version == net.version and net.subnet_of(block) for block in PRIVATE)  # type: ignore[arg-type]


def allowed_networks(cidrs: list[str]) -> list[str]:
    """Each network allowed, none repeated, and together no wider than the widest one allowed (so [0.0.0.0/9,
    128.0.0.0/9, ...] cannot add up to the internet)."""
    nets = [allowed_network(c) for c in no_repeats(cidrs)]
    for version, widest in ((4, WIDEST_V4), (6, WIDEST_V6)):
        total = sum(n.num_addresses for n in nets if n.version == version and not is_private(n))
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


# The operating system's own directories: a state backend there would write into (or list) the system.
SYSTEM_DIRS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr")


def backend_directory(url: str) -> str:
    """A file:// backend's folder is no system directory (nor `/`): refused with the reason."""
    import posixpath
    from urllib.parse import unquote

    # as the engine reads it: escapes decoded (file:///%65tc is /etc), `~` expanded
    path = posixpath.normpath(posixpath.expanduser(unquote(url.removeprefix("file://").partition("?")[0])) or "/")
    if path == "/" or any(path == d or path.startswith(d + "/") for d in SYSTEM_DIRS):
        raise ValueError(
            f"{url!r} is a system directory; keep state in a folder of its own (e.g. file://~/mlstack-state)"
        )
    return url


def object_prefix(prefix: str) -> str:
    """A key prefix inside a bucket: relative, no empty, `.` or `..` segment (they would reach out of the prefix
    or name a different key than written)."""
    if prefix.startswith("/"):
        raise ValueError(f"{prefix!r} starts with '/': a prefix is relative to the bucket (e.g. mlflow)")
    segments = prefix.rstrip("/").split("/")
    bad = next((s for s in segments if s in ("", ".", "..")), None)
    if bad is not None:
        what = f"a {bad!r} segment" if bad else "an empty segment ('//')"
        raise ValueError(f"{prefix!r} has {what}; name each folder (e.g. team/mlflow)")
    return prefix
