"""Where mcp-orch may connect for a remote MCP server: the destination policy, and loops.

A developer of a project chooses a remote server's URL, and mcp-orch connects there from its
own network position. Without a policy that is a way into whatever the host can reach: the
cloud metadata service (instance credentials), or mcp-orch's own endpoints (a server pointing
at the unified endpoint of its own project recursed until timeout, piling up connections).

The policy (operator settings, read in config.py):

- ``MCP_ORCH_UPSTREAM_DENY``: comma list of CIDRs, addresses and host names that are refused,
  on top of the built-in `DEFAULT_DENY` (link-local and cloud metadata addresses and names).
- ``MCP_ORCH_UPSTREAM_ALLOW``: comma list of the same. An address or name listed here is
  allowed even if a default denies it (an explicit DENY entry still wins); and when the list
  is not empty, it is an allow-list: every destination not on it is refused.
- Unlisted destinations are allowed: loopback and private ranges included, since self-hosted
  teams run their servers there.

A host name entry matches that name; one starting with ``*.`` or ``.`` matches every name
under it. Address entries match the addresses a name resolves to.

It is checked twice:

- when a server is saved (`check_url`): its host name against the name entries and, for an
  address written in the URL (in any notation the resolver accepts, such as ``2852039166``),
  the address; a clear validation error names the setting that refused it;
- every time a connection is opened (`GuardedNetworkBackend`, the network layer of the
  HTTP client of every remote upstream): the name is resolved once, every address it resolves
  to is checked, and the connection goes to one of those checked addresses. That defeats DNS
  rebinding (a name that resolved to a public address at save time and to 169.254.169.254
  later), since nothing resolves the name again after the check. TLS still verifies the
  certificate against the host name. Redirects are never followed (http_upstream.py), and the
  SSE transport's message endpoint must be on the URL's own origin, so every connection goes
  through this check.

Loops: every request mcp-orch makes to an upstream carries the `LOOP_HEADER` with this
installation's `loop_token` (derived from its encryption key, so every replica of one
installation shares it, and nobody else can produce it). An MCP request arriving with it came
from mcp-orch itself and is refused with HTTP 508 Loop Detected at once. At save time a URL
that names one of the gateway's own MCP endpoint paths on its public address
(``MCP_ORCH_PUBLIC_URL``) is refused too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import anyio.abc
import httpcore2 as httpcore
import httpx2 as httpx
from httpcore2._backends.anyio import AnyIOStream
from httpcore2._utils import is_socket_readable

from mcp_orch_app.config import ConfigError, get_settings

logger = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_DENY = (
    "169.254.0.0/16",  # IPv4 link-local: the metadata service of AWS, GCP, Azure, OCI, ...
    "fe80::/10",  # IPv6 link-local
    "100.100.100.200",  # Alibaba Cloud metadata
    "fd00:ec2::254",  # AWS metadata over IPv6
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.com",
    "instance-data.ec2.internal",
)
"""Refused unless the operator allows them explicitly (``MCP_ORCH_UPSTREAM_ALLOW``)."""

LOOP_HEADER = "mcp-orch-loop"
"""The header on every upstream request that lets mcp-orch recognise its own requests."""

_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


class DestinationRefused(ValueError):
    """A destination the policy does not allow; the message says which setting refused it."""


@dataclass(frozen=True)
class _Rules:
    networks: tuple[IPNetwork, ...] = ()
    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()

    def match_address(self, address: IPAddress) -> IPNetwork | None:
        return next((net for net in self.networks if address in net), None)

    def match_name(self, name: str) -> str | None:
        if name in self.names:
            return name
        return next((f"*{s}" for s in self.suffixes if name.endswith(s)), None)

    @property
    def empty(self) -> bool:
        return not (self.networks or self.names or self.suffixes)


def _normal_name(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _normal_address(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (``::ffff:169.254.169.254``) is the IPv4 address it maps."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_rules(entries: Iterable[str], setting: str) -> _Rules:
    """The rules of a comma list's entries; ConfigError naming the first unusable one."""
    networks: list[IPNetwork] = []
    names: set[str] = set()
    suffixes: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        name = _normal_name(entry)
        wildcard = name.startswith(("*.", "."))
        bare = name.removeprefix("*").removeprefix(".")
        if not bare or not all(_LABEL.fullmatch(label) for label in bare.split(".")):
            raise ConfigError(
                f"{setting}: {entry!r} is neither a CIDR, an IP address nor a host name"
            )
        if wildcard:
            suffixes.append("." + bare)
        else:
            names.add(bare)
    return _Rules(tuple(networks), frozenset(names), tuple(suffixes))


@dataclass(frozen=True)
class DestinationPolicy:
    allow: _Rules
    deny: _Rules
    defaults: _Rules

    @classmethod
    def from_entries(cls, allow: Iterable[str], deny: Iterable[str]) -> DestinationPolicy:
        return cls(
            allow=parse_rules(allow, "MCP_ORCH_UPSTREAM_ALLOW"),
            deny=parse_rules(deny, "MCP_ORCH_UPSTREAM_DENY"),
            defaults=parse_rules(DEFAULT_DENY, "the default denied destinations"),
        )

    def refusal_for_address(self, address: IPAddress, *, name_allowed: bool = False) -> str | None:
        """Why connecting to ``address`` is refused, or None when it is allowed.
        ``name_allowed``: the host name is on the allow-list, which then admits its addresses
        (but not past an explicit DENY entry)."""
        address = _normal_address(address)
        if (rule := self.deny.match_address(address)) is not None:
            return f"{address} is denied by MCP_ORCH_UPSTREAM_DENY ({rule})"
        if name_allowed or self.allow.match_address(address) is not None:
            return None
        if not self.allow.empty:
            return f"{address} is not in MCP_ORCH_UPSTREAM_ALLOW"
        if (rule := self.defaults.match_address(address)) is not None:
            return (
                f"{address} is a link-local or cloud metadata address ({rule}), denied by "
                "default; an operator can allow it with MCP_ORCH_UPSTREAM_ALLOW"
            )
        return None

    def refusal_for_name(self, name: str) -> str | None:
        """Why the host name ``name`` is refused (by name, before any resolution), or None.

        With an allow-list, a name not on it may still pass through the addresses it
        resolves to (checked when connecting).
        """
        name = _normal_name(name)
        if (rule := self.deny.match_name(name)) is not None:
            return f"{name} is denied by MCP_ORCH_UPSTREAM_DENY ({rule})"
        if self.allow.match_name(name) is not None:
            return None
        if (rule := self.defaults.match_name(name)) is not None:
            return (
                f"{name} is a cloud metadata host name, denied by default; an operator can "
                "allow it with MCP_ORCH_UPSTREAM_ALLOW"
            )
        return None

    def check_resolved(self, name: str, addresses: Iterable[IPAddress]) -> None:
        """Raise DestinationRefused unless ``name`` and every address it resolved to pass."""
        if (reason := self.refusal_for_name(name)) is not None:
            raise DestinationRefused(reason)
        name_allowed = self.allow.match_name(_normal_name(name)) is not None
        for address in addresses:
            reason = self.refusal_for_address(address, name_allowed=name_allowed)
            if reason is not None:
                raise DestinationRefused(f"{name} resolves to {reason}")


@lru_cache(maxsize=1)
def _cached_policy(allow: tuple[str, ...], deny: tuple[str, ...]) -> DestinationPolicy:
    return DestinationPolicy.from_entries(allow, deny)


def destination_policy() -> DestinationPolicy:
    """The policy of the current settings (ConfigError on an unusable entry)."""
    settings = get_settings()
    return _cached_policy(settings.upstream_allow, settings.upstream_deny)


def _numeric_address(host: str) -> IPAddress | None:
    """The address a host written as an address denotes, in any notation the resolver takes
    (``169.254.169.254``, ``2852039166``, ``0xa9.0xfe.0xa9.0xfe``, ``[fe80::1]``), else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return ipaddress.ip_address(infos[0][4][0].split("%", 1)[0])


_OWN_MCP_PATH = re.compile(r"/projects/[^/]+/(servers/[^/]+|unified)/(mcp|sse|messages)/?$")


def _own_origin() -> tuple[str, int] | None:
    public = get_settings().public_url
    if not public:
        return None
    parts = urlsplit(public)
    if not parts.hostname:
        return None
    return _normal_name(parts.hostname), parts.port or (443 if parts.scheme == "https" else 80)


def check_url(url: str) -> None:
    """Save-time check of a remote server's URL; DestinationRefused says what is wrong."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused(f"The url {url!r} has an invalid port.") from exc
    own = _own_origin()
    if own is not None and (_normal_name(host), port) == own and _OWN_MCP_PATH.search(parts.path):
        raise DestinationRefused(
            "The url points at one of mcp-orch's own MCP endpoints: a server cannot be "
            "mcp-orch itself (the calls would loop). Add the servers behind it instead."
        )
    policy = destination_policy()
    address = _numeric_address(host)
    if address is None:
        reason = policy.refusal_for_name(host)
    else:
        reason = policy.refusal_for_address(address)
    if reason is not None:
        raise DestinationRefused(f"mcp-orch may not connect to this url: {reason}.")


# -- connect time ---------------------------------------------------------------------------


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network layer with the policy in front of every TCP connection: resolve,
    check every address, connect to a checked one (never resolving again)."""

    def __init__(self, policy: DestinationPolicy | None = None) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    @property
    def policy(self) -> DestinationPolicy:
        return self._policy or destination_policy()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
                timeout,
            )
        except (OSError, UnicodeError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        addresses: list[str] = []
        for *_, sockaddr in infos:
            if sockaddr[0] not in addresses:
                addresses.append(sockaddr[0])
        try:
            self.policy.check_resolved(
                host, [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
            )
        except DestinationRefused as exc:
            raise UpstreamDestinationRefused(str(exc)) from None
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
                return _PooledStream(stream._stream) if type(stream) is AnyIOStream else stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} resolved to no address")

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options=None
    ):
        raise httpcore.ConnectError("unix sockets are not remote MCP server destinations")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PooledStream(AnyIOStream):
    """httpcore's anyio stream, answering "is_readable" from the socket it keeps.

    The pool asks every idle connection whether the server closed it (a readable idle socket)
    each time it hands out a connection: O(connections) per request. The stock stream looks the
    socket up through anyio's typed attributes, which build every attribute of the socket
    (getpeername and getsockname system calls included) on each lookup; that was ~10 % of the
    gateway's CPU per call over a streamable-HTTP upstream at c=32 (bench/gateway_overhead.py).
    Here it is one poll() on a socket looked up once.
    """

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        super().__init__(stream)
        self._socket = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return is_socket_readable(self._socket)
        return super().get_extra_info(info)

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        tls = await super().start_tls(*args, **kwargs)
        return _PooledStream(tls._stream) if type(tls) is AnyIOStream else tls


class UpstreamDestinationRefused(httpcore.ConnectError):
    """The policy refused the connection (reaches httpx callers as an httpx.ConnectError
    whose cause is this)."""


def refused_destination(exc: BaseException) -> str | None:
    """The policy's reason if an httpx error was a refused destination, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UpstreamDestinationRefused):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (same TLS, HTTP/1.1, limits) over `GuardedNetworkBackend`.

    Giving the client a transport also means no proxy from the environment is used: through
    a proxy, the proxy would resolve and connect, out of reach of the check.
    """

    def __init__(self, *, limits: httpx.Limits, policy: DestinationPolicy | None = None) -> None:
        super().__init__(limits=limits)
        # The pool httpx built, rebuilt with the same settings over the guarded backend.
        built = self._pool
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=built._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedNetworkBackend(policy),
        )


# -- loops ----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _loop_token_for(key_material: bytes) -> str:
    return hmac.new(key_material, b"mcp-orch upstream loop detection", hashlib.sha256).hexdigest()


def loop_token() -> str:
    """This installation's token for `LOOP_HEADER` (the same in every process sharing its
    encryption key; the key itself cannot be derived from it)."""
    from mcp_orch_app.security.secrets import get_cipher

    cipher = get_cipher()
    # Fernet keeps its two halves as attributes; together they are the configured key.
    return _loop_token_for(cipher._signing_key + cipher._encryption_key)


def is_loop(header_value: str | None) -> bool:
    """Whether an incoming request's `LOOP_HEADER` says it was sent by this installation."""
    if not header_value:
        return False
    return hmac.compare_digest(header_value.strip(), loop_token())
