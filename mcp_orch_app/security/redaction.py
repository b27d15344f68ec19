"""Keeping a server's own secrets out of what mcp-orch stores and shows.

A server's env values and headers are encrypted at rest and masked in every API answer, but the
server itself can echo them: a stdio server printing its environment to stderr, an upstream
error quoting the ``Authorization`` header, a tool result containing its API key. A
:class:`Redactor` is built from one server's decrypted secret values and replaces every
occurrence of them, and of their common encodings (URL-encoded, base64, JSON-escaped), with
``[redacted]``, in text and in JSON values, before such text reaches a log row, a status, an
error answer or the UI.

Values shorter than :data:`MIN_SECRET_LENGTH` characters, and a few words that are settings
rather than secrets (``true``, ``production``, ...), are left alone: redacting them would shred
ordinary text and hide nothing.

Matching is one precompiled alternation per server (longest first), preceded by plain substring
checks, so a line without a secret costs a few microseconds (``bench/redaction.py``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MIN_SECRET_LENGTH", "REDACTED", "Redactor", "redactor_for"]

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 4

# Env values that configure rather than authenticate; seen in ordinary text all the time.
_NOT_SECRETS = frozenset(
    {
        "true",
        "false",
        "yes",
        "none",
        "null",
        "debug",
        "info",
        "warn",
        "warning",
        "error",
        "production",
        "development",
        "staging",
        "test",
        "stdio",
        "json",
        "text",
        "utf-8",
        "utf8",
    }
)

# Authorization schemes: the credential after them is a secret of its own.
_SCHEME = re.compile(r"^(?:bearer|basic|token|apikey|api-key|key)\s+(\S+)$", re.IGNORECASE)


def _is_secret(value: str) -> bool:
    return len(value) >= MIN_SECRET_LENGTH and value.casefold() not in _NOT_SECRETS


def _encodings(value: str) -> set[str]:
    """``value`` and the forms it takes in URLs, base64 blobs and JSON string literals."""
    raw = value.encode("utf-8", "surrogatepass")
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.add(text)
        forms.add(text.rstrip("="))
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces a fixed set of secret values (and their encodings) with ``[redacted]``."""

    __slots__ = ("_forms", "_pattern")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if not isinstance(secret, str):
                continue
            secret = secret.strip()
            if not _is_secret(secret):
                continue
            values.add(secret)
            credential = _SCHEME.match(secret)
            if credential and _is_secret(credential.group(1)):
                values.add(credential.group(1))
        forms: set[str] = set()
        for value in values:
            forms |= _encodings(value)
        # Longest first: a secret that contains another is replaced whole.
        self._forms = tuple(sorted(forms, key=lambda form: (-len(form), form)))
        self._pattern = (
            re.compile("|".join(re.escape(form) for form in self._forms)) if self._forms else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __repr__(self) -> str:  # never the values themselves
        return f"Redactor({len(self._forms)} forms)"

    def _hit(self, text: str) -> bool:
        # str.__contains__ is a C fast search: much cheaper than the regex on a clean line.
        return any(form in text for form in self._forms)

    def redact(self, text: str) -> str:
        """``text`` with every secret (and encoding of one) replaced."""
        if self._pattern is None or not text or not self._hit(text):
            return text
        return self._pattern.sub(REDACTED, text)

    def redact_optional(self, text: str | None) -> str | None:
        return None if text is None else self.redact(text)

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value (dicts, lists, strings; keys too) with its strings redacted.

        Objects that are neither are returned as they are (a pydantic model is dumped first).
        """
        if self._pattern is None:
            return value
        return self._walk(value, 0)

    def _walk(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if depth > 200:  # deeper than anything storable; the log writer caps it anyway
            return value
        model_dump = getattr(value, "model_dump", None)
        if callable(model_dump):
            value = model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(value, Mapping):
            return {
                (self.redact(key) if isinstance(key, str) else key): self._walk(item, depth + 1)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(item, depth + 1) for item in value]
        return value

    def redact_json_text(self, text: str) -> str:
        """JSON text with the secrets in its strings replaced; still valid JSON.

        The hits are replaced in the text; should that have cut an escape sequence in two (the
        result no longer parses), the text is decoded, redacted value by value and encoded
        again instead. Text that is not JSON is redacted as plain text.
        """
        if self._pattern is None or not self._hit(text):
            return text
        replaced = self._pattern.sub(REDACTED, text)
        try:
            # The common case: the hits sat whole inside string literals.
            json.loads(replaced)
            return replaced
        except (ValueError, RecursionError):
            pass
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return self.redact(text)
        return json.dumps(
            self.redact_value(value), ensure_ascii=False, separators=(",", ":"), allow_nan=True
        )


_EMPTY = Redactor()


def redactor_for(
    env: Mapping[str, Any] | None = None, headers: Mapping[str, Any] | None = None
) -> Redactor:
    """The redactor of one server: its env values and header values are its secrets."""
    values = [v for v in (env or {}).values() if isinstance(v, str)]
    values += [v for v in (headers or {}).values() if isinstance(v, str)]
    return Redactor(values) if values else _EMPTY
