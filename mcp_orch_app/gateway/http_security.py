"""Host and Origin checks of the MCP endpoints, against DNS rebinding.

A web page on a hostile domain that resolves to 127.0.0.1 could otherwise drive a local
mcp-orch from the victim's browser (an anonymous-open project needs no key). Such a request
carries the hostile name in `Host` and the page's origin in `Origin`, so:

- `Host` must be a loopback name, an IP literal (rebinding needs a domain name), or the host of
  `MCP_ORCH_PUBLIC_URL`; otherwise 421, telling the operator which setting lets the name in.
- `Origin`, when present, must be a loopback origin, the public URL's host, the request's own
  host, or one of the exact origins of `MCP_ORCH_CORS_ORIGINS`; otherwise 403. That includes
  `Origin: null` (sandboxed iframes, `data:` / `file:` pages, some redirects): it names no site
  that could be trusted, and it is what a hostile page can always produce.

Cross-origin reads by browsers (CORS) are set in rxconfig.py from the same setting.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

from mcp_orch_app.config import get_settings

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _host_name(value: str) -> str:
    """The name part of a `Host` value (`name`, `name:port`, `[v6]:port`), lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=8)
def _public_host(public_url: str | None) -> str | None:
    return (urlsplit(public_url).hostname or "").lower() or None if public_url else None


def _trusted_name(name: str, public_host: str | None) -> bool:
    return name in LOOPBACK_NAMES or name.endswith(".localhost") or name == public_host


def check_host_and_origin(host: str | None, origin: str | None) -> tuple[int, str] | None:
    """None when the request may proceed, else (HTTP status, message)."""
    settings = get_settings()
    return _verdict(host, origin, settings.public_url, settings.cors_origins)


@lru_cache(maxsize=1024)
def _verdict(
    host: str | None, origin: str | None, public_url: str | None, cors_origins: tuple[str, ...]
) -> tuple[int, str] | None:
    # Cached: clients send the same few Host/Origin pairs on every call.
    public_host = _public_host(public_url)
    name = _host_name(host or "")
    if not (_trusted_name(name, public_host) or _is_ip_literal(name)):
        return (
            421,
            f"mcp-orch does not answer MCP requests for the host name {name!r}. If that is how "
            "clients reach it, set MCP_ORCH_PUBLIC_URL to a URL with that host name.",
        )
    if origin and origin.rstrip("/").lower() not in cors_origins:
        try:
            origin_name = (urlsplit(origin).hostname or "").lower()
        except ValueError:  # e.g. an unbalanced "[" in a hostile value
            origin_name = ""
        loopback = _trusted_name(origin_name, public_host) or (
            _is_ip_literal(origin_name) and ipaddress.ip_address(origin_name).is_loopback
        )
        if not origin_name or not (loopback or origin_name == name):
            return 403, f"Requests from the web origin {origin!r} are not allowed."
    return None
