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

Bare names
----------
A project may choose (``projects.unified_naming``) ``prefixed``, the rules above, or ``bare``:
a tool or prompt keeps its own name when exactly one enabled server of the project lists it,
and is ``{server}__{name}`` otherwise (on a collision every holder is prefixed). A name that
could be read as a prefixed name of one of the project's servers (``{server}__...``), and a
tool name longer than 64 characters, is always prefixed. Disabled tools count as listed, so
enabling or disabling a tool renames nothing. ``{server}__{name}`` keeps working in bare mode:
a client configured with prefixed names never breaks. Resources keep their mapped URIs.

Which names collide is a function of the enabled servers and the lists they gave last (a
server left out of one answer counts with its last list), so the names change only when one
of those changes, and each of those is announced: a server's own ``list_changed`` is passed
on, a change of the project's enabled servers or of this setting sends every list_changed, and
a server that had been left out sends tools and prompts list_changed when it starts. That is
all a 2026-07-28 client (no session) gets: its names are this function of the moment, and the
changes come on ``subscriptions/listen``.

A session of the handshake era gets more (`SessionNames`): once it has been shown (or has
called) a bare name, that name means that tool of that server for the rest of the session,
and a name it was shown prefixed stays prefixed. A server that starts later with a colliding
name gets its tool offered prefixed; the name the session knows does not move. A session
that was shown more than `SessionNames.LIMIT` names gets every new one prefixed (a prefixed
name never needs remembering).

Everything here is pure: no I/O, no gateway state.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp_orch_app.models.enums import UnifiedNaming

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


URI_TEMPLATE_LIMIT = 2048
"""The longest URI template (and URI) matched against each other; longer ones match nothing."""

_EXPRESSION = re.compile(r"\{[^{}]*\}")


def matches_uri_template(template: Any, uri: str) -> bool:
    """Whether ``uri`` could be an expansion of the RFC 6570 ``template`` (a server's resource
    template): its literal parts appear in order, the first at the start and the last at the
    end, each expression standing for any run of characters. Loose on purpose (it only picks
    which server a URI belongs to) and linear in the lengths (a server's template is hostile
    input: no backtracking pattern is made of it)."""
    if not isinstance(template, str) or len(template) > URI_TEMPLATE_LIMIT:
        return False
    if len(uri) > URI_TEMPLATE_LIMIT:
        return False
    literals = _EXPRESSION.split(template)
    if len(literals) == 1:
        return template == uri
    first, *middle, last = literals
    if len(first) + len(last) > len(uri) or not uri.startswith(first) or not uri.endswith(last):
        return False
    at, stop = len(first), len(uri) - len(last)
    for literal in middle:
        found = uri.find(literal, at, stop)
        if found < 0:
            return False
        at = found + len(literal)
    return True


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
    """The tool (or prompt) names each server listed last (disabled ones included), indexed
    by their unified names, to route a tools/call whose name cannot be split back (shortened),
    and to tell which names collide in bare mode.

    When two tools get the same unified name (a hash collision), the first in the server's
    list keeps it, here and in the unified tools/list alike. Entries of a server are replaced
    by its next listing and dropped when it says its tools changed; a stale entry costs
    nothing worse than the server answering that it has no such tool.
    """

    def __init__(self, prefixed: Callable[[str, str], str] = unified_tool_name) -> None:
        self._by_server: dict[str, tuple[str, dict[str, str]]] = {}
        self._prefixed = prefixed

    def remember(self, server_id: str, server: str, tools: Iterable[str]) -> dict[str, str]:
        """Index the server's tools; returns unified name -> tool name."""
        index: dict[str, str] = {}
        for tool in tools:
            index.setdefault(self._prefixed(server, tool), tool)
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

    def names(self, server_id: str, server: str) -> frozenset[str] | None:
        """The server's own names in its last listing (None: not listed under that name)."""
        entry = self._by_server.get(server_id)
        if entry is None or entry[0] != server:
            return None
        return frozenset(entry[1].values())


# -- bare names --------------------------------------------------------------------------------

Key = tuple[str, str]
"""(server id, the server's own name of a tool or prompt)."""


@dataclass(slots=True)
class SeenNames:
    """What one session was shown of one kind (tools or prompts)."""

    bare: dict[str, Key] = field(default_factory=dict)
    """Bare name -> the tool it means for the session (shown in a list or called)."""
    shown: dict[Key, bool] = field(default_factory=dict)
    """Tool -> whether the session was shown it bare (False: prefixed)."""


@dataclass(slots=True)
class SessionNames:
    """The names a handshake-era unified session knows, so that they keep their meaning (see
    the module docstring). Forgotten when the project's naming setting changes."""

    LIMIT = 10_000
    naming: UnifiedNaming
    tools: SeenNames = field(default_factory=SeenNames)
    prompts: SeenNames = field(default_factory=SeenNames)

    def of(self, kind: str) -> SeenNames:
        return self.tools if kind == "tools" else self.prompts

    def full(self) -> bool:
        return len(self.tools.shown) + len(self.prompts.shown) >= self.LIMIT


@dataclass(frozen=True, slots=True)
class Offer:
    """One server's names of one kind: those it offers now (in its order) and all it listed
    (disabled tools too), which decide collisions."""

    server_id: str
    server: str
    offered: Sequence[str]
    listed: Collection[str]


def may_be_bare(kind: str, name: str, servers: Iterable[str]) -> bool:
    """Whether ``name`` may be offered bare at all: not readable as a prefixed name of one of
    ``servers`` (the project's), and (tools) not longer than clients accept."""
    if not name:
        return False
    if kind == "tools":
        return len(name) <= MAX_TOOL_NAME and not any(may_name_tool_of(s, name) for s in servers)
    parts = split_prefixed_name(name)
    return parts is None or parts[0] not in set(servers)


def assign_names(
    kind: str,
    naming: UnifiedNaming,
    offers: Sequence[Offer],
    servers: Collection[str],
    seen: SessionNames | None = None,
    prefixed: Mapping[Key, str] | None = None,
) -> dict[Key, str]:
    """The name of each offered tool (or prompt) on the unified endpoint.

    ``servers``: the names of every server of the endpoint; ``seen``: what the session knows
    (None: a session-less client, the names are a function of ``offers`` alone); ``prefixed``:
    the prefixed name of a tool when it is not the natural one (shortened tool names; a tool
    missing from it while it is given is one that lost its name to a hash collision: left out).
    Remembers in ``seen`` what it shows. Names are unique in the answer (the first keeps it).
    """

    def prefixed_of(offer: Offer, own: str) -> str | None:
        if prefixed is not None:
            return prefixed.get((offer.server_id, own))
        return (unified_tool_name if kind == "tools" else prefixed_name)(offer.server, own)

    pairs = [(offer, own) for offer in offers for own in offer.offered]
    if naming is not UnifiedNaming.BARE:
        names = {(o.server_id, own): prefixed_of(o, own) for o, own in pairs}
        return {key: name for key, name in names.items() if name is not None}
    holders = Counter(own for offer in offers for own in set(offer.listed) | set(offer.offered))
    known = seen.of(kind) if seen is not None else SeenNames()
    # What the session was shown first: those names must stay what they were.
    ordered = sorted(pairs, key=lambda pair: (pair[0].server_id, pair[1]) not in known.shown)
    taken: set[str] = set()
    names: dict[Key, str] = {}
    for offer, own in ordered:
        key = (offer.server_id, own)
        was_bare = known.shown.get(key)
        if was_bare is None:
            bound = known.bare.get(own)
            fresh = seen is None or not seen.full()
            was_bare = (
                fresh
                and holders[own] == 1
                and (bound is None or bound == key)
                and may_be_bare(kind, own, servers)
            )
            if seen is not None and fresh:
                known.shown[key] = was_bare
        name = own if was_bare else prefixed_of(offer, own)
        if name is None or name in taken:
            continue
        if was_bare and seen is not None:
            known.bare[own] = key
        taken.add(name)
        names[key] = name
    return names


def bare_holders(
    kind: str, name: str, offers: Iterable[Offer], servers: Collection[str]
) -> list[str]:
    """The server ids whose last list has ``name`` (empty when it may not be bare at all)."""
    if not may_be_bare(kind, name, servers):
        return []
    return [offer.server_id for offer in offers if name in offer.listed or name in offer.offered]
