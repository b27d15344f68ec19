"""Compact JSON encoding on the call path, through orjson when it is installed.

Every forwarded message is encoded on its way (the upstream's request, the client's answer; a
tool call's result once, for the answer and its log row: :class:`Encoded`), and for large payloads the stdlib encoder was the biggest single cost of a call
(~200 us per 100 kB of text against orjson's ~10 us). This module is the one seam: the callers
ask for ``dumps``/``dumps_bytes`` and get exactly what ``json.dumps(value, ensure_ascii=False,
separators=(",", ":"))`` (with the caller's own stdlib options) would give, orjson or not.

Exactness: orjson is used only where its output is the same JSON value as the stdlib's.
- Anything orjson refuses (a lone surrogate, an integer past 64 bits, a non-string key, nesting
  past 255 levels, a type it does not know) is encoded by the stdlib encoder instead, with the
  caller's ``default`` and ``allow_nan``, so errors and fallbacks stay what they were.
- orjson writes NaN and Infinity as ``null`` where the stdlib writes ``NaN`` (or refuses with
  allow_nan=False). An output holding ``null`` anywhere is therefore encoded again by the stdlib:
  a document without that token cannot have held a non-finite float.
- Subclasses of str/int/dict/list, datetimes and dataclasses go to ``default`` as in the stdlib
  (orjson's own forms of them differ).
Only the text of floats can differ (orjson writes ``1e-7`` where Python writes ``1e-07``): the
same number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:  # optional: the stdlib path is complete on its own
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is not installed
    orjson = None

__all__ = ["ORJSON", "Encoded", "dumps", "dumps_bytes", "encoder"]

ORJSON = orjson is not None
"""Whether the fast encoder is in use."""

if orjson is not None:
    _OPTIONS = (
        orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
    )
    _FAST_ERRORS: tuple[type[BaseException], ...] = (orjson.JSONEncodeError,)
else:
    _OPTIONS = 0
    _FAST_ERRORS = ()

_PLAIN = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _fast(value: Any) -> bytes | None:
    """orjson's encoding of ``value`` when it is the stdlib's too, else None."""
    if orjson is None:
        return None
    try:
        # No ``default``: whatever orjson does not know natively is the stdlib's to encode.
        encoded = orjson.dumps(value, option=_OPTIONS)
    except _FAST_ERRORS:
        return None
    if b"null" in encoded:  # maybe a NaN/Infinity orjson wrote as null: let the stdlib decide
        return None
    return encoded


class Encoded(dict):
    """A message (a dict like any other to its readers) whose JSON is already made: what
    :func:`dumps_bytes` and :func:`dumps` return for it, without encoding it again.

    Made last, from what will not change (forwarding's tools/call answer: the shaped result,
    encoded once for the client and the log); a reader must not modify it.
    """

    __slots__ = ("encoded",)

    def __init__(self, message: dict[str, Any], encoded: bytes) -> None:
        super().__init__(message)
        self.encoded = encoded


def dumps_bytes(value: Any, encoder: json.JSONEncoder = _PLAIN) -> bytes:
    """``value`` as compact UTF-8 JSON; ``encoder`` (compact, ensure_ascii=False) is the stdlib
    encoder whose output, defaults and errors this stands for."""
    if type(value) is Encoded:
        return value.encoded
    encoded = _fast(value)
    if encoded is not None:
        return encoded
    return encoder.encode(value).encode("utf-8")


def dumps(value: Any, encoder: json.JSONEncoder = _PLAIN) -> str:
    """``value`` as compact JSON text (see :func:`dumps_bytes`)."""
    if type(value) is Encoded:
        return value.encoded.decode("utf-8")
    encoded = _fast(value)
    if encoded is not None:
        return encoded.decode("utf-8")
    return encoder.encode(value)


def encoder(
    *, allow_nan: bool = True, default: Callable[[Any], Any] | None = None
) -> json.JSONEncoder:
    """A compact, ensure_ascii=False stdlib encoder, to pass to :func:`dumps`."""
    return json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan, default=default
    )
