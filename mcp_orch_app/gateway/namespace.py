"""How the unified endpoint names what its servers offer, and how it reads those names back.

The unified endpoint of a project puts every enabled server behind one MCP endpoint, so names
from different servers must not clash and each must lead back to exactly one server:

- tools are ``{server}__{tool}``; a name longer than 64 characters (what clients accept) is cut
  to its first 55 characters, ``_`` and the first 8 hex digits of the SHA-256 of the full name:
  the same on every process and after restarts, and exactly 64 characters long;
- prompts are ``{server}__{prompt}`` (prompt names have no length limit);
- resource URIs and URI templates become ``mcp-orch:{server}/{original}``: a valid URI of its
  own whatever the original's scheme, with the original kept verbatim after the first ``/``
  (so a client filling in a template fills in the original's variables).

Server names never contain ``__`` or ``/`` and never end with ``_`` (services/servers.py checks
that), which is what makes a natural name split at its first ``__`` unambiguous. A shortened
tool name cannot be split back: the gateway keeps the tool names each server listed last
(``ToolNames``) and finds the tool whose unified name it is.

Everything here is pure: no I/O, no gateway state.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

SEPARATOR = "__"
MAX_TOOL_NAME = 64
_HASH_DIGITS = 8
_KEPT = MAX_TOOL_NAME - _HASH_DIGITS - 1
_SHORTENED = re.compile(rf"^.{{{_KEPT}}}_[0-9a-f]{{{_HASH_DIGITS}}}$", re.DOTALL)
RESOURCE_SCHEME = "mcp-orch"
_RESOURCE_PREFIX = f"{RESOURCE_SCHEME}:"


def unified_tool_name(server: str, tool: str) -> str:
    """``{server}__{tool}``, shortened with a stable hash when longer than 64 characters."""
    full = f"{server}{SEPARATOR}{tool}"
    if len(full) <= MAX_TOOL_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_DIGITS]
    return f"{full[:_KEPT]}_{digest}"


def may_name_tool_of(server: str, name: str) -> bool:
    """Whether ``name`` can be the unified name of one of ``server``'s tools (natural or
    shortened); the tool lists decide which one it is."""
    prefix = f"{server}{SEPARATOR}"
    if name.startswith(prefix):
        return True
    # A server name of 54 characters or more leaves part of its own name out of the kept part.
    return _SHORTENED.match(name) is not None and name.startswith(prefix[:_KEPT])


def prefixed_name(server: str, name: str) -> str:
    """A prompt's name on the unified endpoint."""
    return f"{server}{SEPARATOR}{name}"


def split_prefixed_name(name: str) -> tuple[str, str] | None:
    """(server, original name) of a ``{server}__{name}``, or None when it is not one."""
    server, separator, original = name.partition(SEPARATOR)
    if not separator or not server or not original:
        return None
    return server, original


def unified_uri(server: str, uri: str) -> str:
    """A resource URI (or URI template) on the unified endpoint."""
    return f"{_RESOURCE_PREFIX}{server}/{uri}"


def split_unified_uri(uri: str) -> tuple[str, str] | None:
    """(server, original URI) of a unified resource URI, or None when it is not one."""
    if not uri.startswith(_RESOURCE_PREFIX):
        return None
    server, separator, original = uri[len(_RESOURCE_PREFIX) :].partition("/")
    if not separator or not server or not original:
        return None
    return server, original


def with_unified_uris(items: Any, server: str) -> Any:
    """A list of content items (a tool result's content, a resource read's contents) with
    their resource URIs made unified (see `unified_content`)."""
    if not isinstance(items, list):
        return items
    return [unified_content(item, server) for item in items]


def unified_content(item: Any, server: str) -> Any:
    """One content item with the URI of a resource link, of an embedded resource or of read
    resource contents made unified, so the client can read that resource here."""
    if not isinstance(item, dict):
        return item
    kind = item.get("type")
    if kind == "resource_link" or (kind is None and isinstance(item.get("uri"), str)):
        return _with_uri(item, server)
    if kind == "resource" and isinstance(item.get("resource"), dict):
        return {**item, "resource": _with_uri(item["resource"], server)}
    return item


def _with_uri(item: dict[str, Any], server: str) -> dict[str, Any]:
    uri = item.get("uri")
    return {**item, "uri": unified_uri(server, uri)} if isinstance(uri, str) else item


def for_unified_session(server: str, message: dict[str, Any]) -> dict[str, Any]:
    """An upstream notification as a unified session sees it: resource URIs made unified,
    log messages attributed to their server."""
    method = message.get("method")
    params = message.get("params")
    if not isinstance(params, dict):
        return message
    if method == "notifications/resources/updated" and isinstance(params.get("uri"), str):
        return {**message, "params": {**params, "uri": unified_uri(server, params["uri"])}}
    if method == "notifications/message":
        logger = params.get("logger")
        named = f"{server}/{logger}" if isinstance(logger, str) and logger else server
        return {**message, "params": {**params, "logger": named}}
    return message


class ToolNames:
    """The tool names each server listed last (disabled ones included), indexed by their
    unified names, to route a tools/call whose name cannot be split back (shortened).

    When two tools get the same unified name (a hash collision), the first in the server's
    list keeps it, here and in the unified tools/list alike. Entries of a server are replaced
    by its next listing and dropped when it says its tools changed; a stale entry costs
    nothing worse than the server answering that it has no such tool.
    """

    def __init__(self) -> None:
        self._by_server: dict[str, tuple[str, dict[str, str]]] = {}

    def remember(self, server_id: str, server: str, tools: Iterable[str]) -> dict[str, str]:
        """Index the server's tools; returns unified name -> tool name."""
        index: dict[str, str] = {}
        for tool in tools:
            index.setdefault(unified_tool_name(server, tool), tool)
        self._by_server[server_id] = (server, index)
        return index

    def forget(self, server_id: str) -> None:
        self._by_server.pop(server_id, None)

    def knows(self, server_id: str, server: str) -> bool:
        """Whether the server's tools were listed under its current name."""
        entry = self._by_server.get(server_id)
        return entry is not None and entry[0] == server

    def tool(self, server_id: str, server: str, name: str) -> str | None:
        """The server's tool whose unified name is ``name``, if its last listing had one."""
        entry = self._by_server.get(server_id)
        if entry is None or entry[0] != server:
            return None
        return entry[1].get(name)
