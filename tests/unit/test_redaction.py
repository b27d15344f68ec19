"""The Redactor: what it replaces (secrets and their encodings), and what it leaves alone."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

from mcp_orch_app.security.redaction import REDACTED, Redactor, redactor_for

SECRET = 'p@ss w/"q"+1=='


def test_secret_and_its_encodings_are_replaced():
    redactor = Redactor([SECRET])
    for form in (
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET, safe=""),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ):
        assert redactor.redact(f"before {form} after") == f"before {REDACTED} after"


def test_short_values_and_setting_words_are_not_secrets():
    redactor = redactor_for({"DEBUG": "true", "PORT": "80", "MODE": "production"})
    line = "debug is true on port 80 in production"
    assert redactor.redact(line) == line
    assert not redactor


def test_bearer_header_credential_is_redacted_without_its_scheme():
    redactor = redactor_for(headers={"Authorization": "Bearer abcd-1234-efgh"})
    assert redactor.redact("sent token abcd-1234-efgh") == f"sent token {REDACTED}"


def test_json_text_stays_valid_json_when_a_secret_sits_in_an_escape():
    redactor = Redactor(["nsecret-value"])
    text = json.dumps({"a": "x\nsecret-value", "nsecret-value": ["nsecret-value"]})
    out = redactor.redact_json_text(text)
    assert json.loads(out) == {"a": "x\nsecret-value", REDACTED: [REDACTED]}
    escaped = Redactor([SECRET]).redact_json_text(json.dumps({"k": f"v {SECRET}"}))
    assert json.loads(escaped) == {"k": f"v {REDACTED}"}


def test_longest_secret_wins_when_one_contains_another():
    redactor = Redactor(["token-abc", "token-abc-def"])
    assert redactor.redact("x token-abc-def y") == f"x {REDACTED} y"


def test_values_are_walked_keys_included():
    redactor = Redactor(["hunter22"])
    value = {"hunter22": ["a hunter22 b", 3, None, {"x": "hunter22"}]}
    assert redactor.redact_value(value) == {REDACTED: [f"a {REDACTED} b", 3, None, {"x": REDACTED}]}


def test_gateway_failure_texts_to_mcp_clients_are_redacted():
    from mcp_orch_app.gateway.forwarding import _failure_response
    from mcp_orch_app.gateway.upstream import UpstreamError, UpstreamUnavailable

    redactor = Redactor(["hunter22-secret"])
    refused = _failure_response(7, UpstreamUnavailable("HTTP 401: bad hunter22-secret"), redactor)
    assert refused["error"]["message"] == f"HTTP 401: bad {REDACTED}"
    # A server's own JSON-RPC error passes as it came (the client talks to that server).
    own = _failure_response(7, UpstreamError(-1, "hunter22-secret"), redactor)
    assert own["error"]["message"] == "hunter22-secret"
