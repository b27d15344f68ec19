"""Strict JSON for REST request bodies: what the routes parse is plain, portable JSON.

Python's ``json`` accepts more than JSON: ``NaN`` / ``Infinity``, duplicate keys (the last one
silently wins), lone UTF-16 surrogates (``"\\ud800"``, which no database and no UTF-8 encoder
accepts later, so they surfaced as 500s), NUL characters (PostgreSQL text refuses them; query
and path parameters are checked for them too), and nesting until the interpreter's recursion limit
(a 400 with no reason). Every router uses :class:`StrictJSONRoute`, whose request parses the
body with :func:`loads_strict`; a refusal is a ``json.JSONDecodeError``, which FastAPI turns
into the usual 422 ``{"detail": "The request body is not valid JSON: <why>."}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

# Deeper than any document the API takes (server imports, tool arguments) needs.
MAX_DEPTH = 64


class _Refused(json.JSONDecodeError):
    def __init__(self, reason: str, doc: str = "", pos: int = 0):
        super().__init__(reason, doc, pos)
        # JSONDecodeError's message adds "line 1 column 1"; the reason alone reads better.
        self.msg = reason


# PostgreSQL text cannot hold NUL, and no name, URL or setting of this API means one.
_NUL_REASON = "a string contains a NUL character (\\u0000)"


def _no_constants(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number; send a finite number or null")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_shape(value: Any, max_depth: int) -> None:
    """Depth and strings of a parsed document, iteratively (no recursion to exhaust)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise _Refused(f"it is nested deeper than {max_depth} levels")
            for key, child in item.items():
                if "\x00" in key:
                    raise _Refused(_NUL_REASON)
                if _has_lone_surrogate(key):
                    raise _Refused("a key contains a lone UTF-16 surrogate (\\ud800-\\udfff)")
                pending.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise _Refused(f"it is nested deeper than {max_depth} levels")
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and _has_lone_surrogate(item):
            raise _Refused("a string contains a lone UTF-16 surrogate (\\ud800-\\udfff)")
        elif isinstance(item, str) and "\x00" in item:
            raise _Refused(_NUL_REASON)


def loads_strict(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``raw`` as strict JSON or raise ``json.JSONDecodeError`` saying why not."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Refused(f"it is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(raw, parse_constant=_no_constants, object_pairs_hook=_no_duplicate_keys)
    except RecursionError:
        raise _Refused(f"it is nested deeper than {max_depth} levels") from None
    _check_shape(value, max_depth)
    return value


def _nul_in_parameters(request: Request) -> str | None:
    """A refusal for a NUL character in a query or path parameter (PostgreSQL would fail)."""
    params = list(request.query_params.multi_items())
    params += list((request.scope.get("path_params") or {}).items())
    for name, value in params:
        if "\x00" in name or "\x00" in str(value):
            shown = name.replace("\x00", "\\u0000")[:40]
            return f"The parameter {shown} contains a NUL character (%00); remove it."
    return None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """An APIRoute whose JSON body is parsed by :func:`loads_strict`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            refusal = _nul_in_parameters(request)
            if refusal is not None:
                return JSONResponse({"detail": refusal}, status_code=422)
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
