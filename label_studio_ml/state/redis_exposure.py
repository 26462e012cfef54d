"""Refuse to share state with a Redis anyone on the network can read.

The state in Redis holds Label Studio tokens and the training queue (RQ jobs are code paths to
run). A Redis without a password is only acceptable where nobody else can reach it: a Unix socket,
loopback, or a private network (a compose network, a VPC). Anything else needs a password in
``REDIS_URL``, or ``ALLOW_INSECURE_REDIS=true`` from an administrator who protects it otherwise
(TLS client certificates, a firewall).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from label_studio_ml.config import Settings
from label_studio_ml.errors import ConfigurationError

#: ``host -> addresses`` (``socket.getaddrinfo`` by default; tests pass their own).
Resolver = Callable[[str], list[str]]


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    return [info[4][0] for info in socket.getaddrinfo(host, None)]


def check_redis_exposure(settings: Settings, resolver: Resolver | None = None) -> None:
    """``ConfigurationError`` when ``REDIS_URL`` reaches a non-private Redis without a password.

    Called where a server or worker starts (``create_app``), before anything is read from Redis.
    """
    if settings.redis_url is None or settings.allow_insecure_redis:
        return
    problem = redis_exposure_problem(settings.redis_url, resolver or resolve)
    if problem is not None:
        raise ConfigurationError(
            f"{problem}: anyone who can reach it can read the Label Studio tokens in the state. Put a "
            "password in REDIS_URL (redis://:PASSWORD@host:6379/0), or set ALLOW_INSECURE_REDIS=true "
            "if it is protected otherwise"
        )


def redis_exposure_problem(url: str, resolver: Resolver = resolve) -> str | None:
    """Why ``url`` would use an exposed Redis without a password, or ``None`` when it would not."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as exc:
        raise ConfigurationError(f"REDIS_URL is not a valid URL: {exc}") from None
    if parts.scheme == "unix" or parts.password or parse_qs(parts.query).get("password"):
        return None
    host = parts.hostname or "localhost"
    try:
        addresses = resolver(host)
    except OSError:  # fail closed: an address we cannot see may be anyone's
        return f"REDIS_URL has no password and its host {host} does not resolve"
    public = [address for address in addresses if not _is_private(address)]
    if addresses and not public:
        return None
    return f"REDIS_URL has no password and its host {host} is not on loopback or a private network"


def _is_private(address: str) -> bool:
    """Loopback, private (RFC 1918, ULA), link-local or shared (CGNAT) space: not the internet."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return False
    return not ip.is_global
