"""Hypothesis-generated traffic against the MCP endpoints of a live mcp-orch with a real
upstream (tests/fixtures/mcp_fixture_server.py): random JSON-RPC messages (methods, ids of
every JSON type, params of random shapes and depths), batches, garbage bytes and random
headers, to the per-server and the unified endpoints, over streamable HTTP and over the SSE
transport (whose answers arrive on the session's event stream, read by a thread).

Properties: never a 5xx; every body is a well-formed JSON-RPC answer (one success or one error
with an integer code and a string message; as plain JSON or as SSE events) and never
mcp-orch's own internal error; afterwards a real SDK client still calls a tool. The number of
examples run is printed (and kept as the test's `fuzz_examples` property).

The app runs on its own event loop in a thread, so Hypothesis drives it with a plain client.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_orch_app import db
from mcp_orch_app.models.enums import ClientTransport
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn
from tests.helpers import initialize_request
from tests.integration.test_gateway_endpoints import fixture_server_in, handshake_session
from tests.live_app import LiveApp, running_app

EXAMPLES = 200
ACCEPT = "application/json, text/event-stream"
INTERNAL_ERROR_OF_OURS = "Internal error in mcp-orch"


@dataclass
class FuzzSite:
    live: LiveApp
    project_id: uuid.UUID
    key: str
    sessions: dict[bool, str]
    """unified? -> an initialized session id of that endpoint."""
    sse: dict[bool, SseStream]
    """unified? -> an initialized SSE-transport session of that endpoint."""

    def url(self, unified: bool) -> str:
        if unified:
            return f"{self.live.base_url}/projects/{self.project_id}/unified/mcp"
        return self.live.url(self.project_id, "fixture")


class SseStream:
    """An SSE-transport session read by a thread: where to post, and every message received."""

    def __init__(self, url: str, key: str) -> None:
        self.client = httpx2.Client(timeout=httpx2.Timeout(60, read=None))
        self.messages: list[dict[str, Any]] = []
        self.post_path: str | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, key), daemon=True)
        self._thread.start()
        assert self._ready.wait(30), "the SSE stream did not open"

    def _read(self, url: str, key: str) -> None:
        event = None
        try:
            with self.client.stream(
                "GET", url, headers={"Authorization": f"Bearer {key}"}
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[len("event:") :].strip()
                    elif line.startswith("data:"):
                        data = line[len("data:") :].strip()
                        if event == "endpoint":
                            self.post_path = data
                            self._ready.set()
                        else:
                            self.messages.append(json.loads(data))
        except (httpx2.HTTPError, RuntimeError):
            pass  # closed at teardown
        finally:
            self._ready.set()

    def wait_for(self, request_id: Any, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if message.get("id") == request_id and "method" not in message:
                    return message
            time.sleep(0.02)
        raise AssertionError(f"no answer to {request_id!r} on the SSE stream")

    def close(self) -> None:
        self._thread.join(10)
        self.client.close()


@pytest.fixture
def fuzz_site(engine, make_person, tmp_path) -> Iterator[FuzzSite]:
    owner = make_person("owner")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "fuzz")
        servers.create_server(
            s, owner.actor, project.id, fixture_server_in("fixture", tmp_path / "calls.log")
        )
        key = api_keys.create_api_key(s, owner.actor, project.id, ApiKeyIn(name="fuzz"))

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        try:
            async with running_app(engine) as live:
                box["live"], box["stop"] = live, asyncio.Event()
                ready.set()
                await box["stop"].wait()
        except BaseException as exc:
            box["error"] = exc
            ready.set()
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(60), "the app did not start"
    if "error" in box:
        raise box["error"]
    site = FuzzSite(box["live"], project.id, key.key, {}, {})
    with httpx2.Client(timeout=60) as http:
        for unified in (False, True):
            site.sessions[unified] = _initialize(http, site, unified)
            stream = SseStream(site.url(unified).removesuffix("/mcp") + "/sse", key.key)
            site.sse[unified] = stream
            answer = http.post(
                site.live.base_url + stream.post_path,
                json=_INITIALIZE,
                headers={"Authorization": f"Bearer {key.key}"},
            )
            assert answer.status_code == 202, answer.text
            assert "result" in stream.wait_for(0)
    try:
        yield site
    finally:
        # Ending the SSE sessions on the app's loop ends their streams, so the readers return.
        gateway = site.live.gateway
        for live_session in list(gateway.sessions.values()):
            if live_session.transport is ClientTransport.SSE:
                loop.call_soon_threadsafe(gateway.end_session, live_session)
        for stream in site.sse.values():
            stream.close()
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(60)
        loop.close()


_INITIALIZE = initialize_request("fuzz")


def _initialize(http: httpx2.Client, site: FuzzSite, unified: bool) -> str:
    answer = http.post(
        site.url(unified),
        json=_INITIALIZE,
        headers={"Authorization": f"Bearer {site.key}", "Accept": ACCEPT},
    )
    assert answer.status_code == 200, answer.text
    return answer.headers["mcp-session-id"]


# -- strategies ------------------------------------------------------------------------------

_texts = st.integers(0, 9).flatmap(
    # Now and then a character no database column or UTF-8 pipe takes as it is.
    lambda roll: (
        st.text(max_size=20)
        if roll < 5
        else st.builds(
            lambda before, odd, after: before + odd + after,
            st.text(max_size=6),
            st.sampled_from(["\ud800", "\udfff", "\udc00\ud800", "\x00", "\u2028", "\ufeff"]),
            st.text(max_size=6),
        )
    )
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _texts
)
_json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def _nested(draw) -> Any:
    """A value nested 0..150 deep (the depth limit is 64)."""
    depth = draw(st.integers(min_value=0, max_value=150))
    value: Any = draw(_scalars)
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


_ids = st.integers(0, 9).flatmap(
    lambda roll: (
        st.integers(min_value=-(2**63), max_value=2**63)
        if roll < 6
        else st.text(max_size=10)
        if roll < 8
        else _json_values
    )
)
_tool_names = st.integers(0, 9).flatmap(
    # The per-server endpoint knows "echo", the unified one "fixture__echo".
    lambda roll: (
        st.sampled_from(["echo", "fixture__echo"])
        if roll < 7
        else st.sampled_from(["add", "fixture__add", "nope", ""]) | st.text(max_size=12)
    )
)
_arguments = st.integers(0, 9).flatmap(
    lambda roll: (
        st.fixed_dictionaries({"text": _texts})
        if roll < 6
        else st.fixed_dictionaries({"a": _json_values, "b": _json_values})
        | _json_values
        | _nested()
    )
)
# Methods that would open long-lived streams (subscriptions/listen, GET) are left out: the
# property is about answers, and a listen stream has none until the client leaves.
_other_methods = st.sampled_from(
    [
        "initialize",
        "ping",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "prompts/list",
        "prompts/get",
        "logging/setLevel",
        "completion/complete",
        "server/discover",
        "notifications/initialized",
        "notifications/cancelled",
    ]
) | st.text(max_size=16)
# Tool calls are what reaches the upstream and the call log: about half of the messages.
_methods = st.integers(0, 9).flatmap(
    lambda roll: st.just("tools/call") if roll < 5 else _other_methods
)


@st.composite
def _messages(draw) -> Any:
    method = draw(_methods)
    message: dict[str, Any] = {
        "jsonrpc": "2.0" if draw(st.integers(0, 9)) < 9 else draw(_json_values)
    }
    if draw(st.integers(0, 19)) < 19:
        message["method"] = method
    if draw(st.integers(0, 9)) < 8:
        message["id"] = draw(_ids)
    shape = draw(st.integers(0, 5))
    if shape <= 2:
        message["params"] = {"name": draw(_tool_names), "arguments": draw(_arguments)}
    elif shape == 3:
        message["params"] = draw(_json_values | _nested())
    elif shape == 4:
        message["params"] = {
            "name": draw(_tool_names),
            "arguments": draw(_arguments),
            "_meta": draw(
                st.fixed_dictionaries({"progressToken": _ids})
                | st.dictionaries(st.text(max_size=40), _json_values, max_size=3)
            ),
        }
    if draw(st.integers(0, 19)) == 19:
        message["extra"] = draw(_json_values)
    return message


@st.composite
def _bodies(draw) -> bytes:
    # Hypothesis favours small integers: the usual case (one message) has the small ones.
    kind = draw(st.integers(0, 19))
    if kind == 17:
        return draw(st.binary(max_size=64))
    if kind == 18:
        batch = draw(st.lists(_messages(), min_size=0, max_size=3))
        return json.dumps(batch).encode()
    if kind == 19:  # a JSON text with a lone surrogate or a NUL somewhere in it
        text = json.dumps(draw(_messages()))
        cut = draw(st.integers(0, len(text)))
        return (
            text[:cut]
            + draw(st.sampled_from(['"\\ud800"', "\\u0000", "\\udfff", "1e400", "-1e999"]))
            + text[cut:]
        ).encode()
    return json.dumps(draw(_messages()), allow_nan=False).encode()


def _mostly(usual: Any, *others: Any) -> st.SearchStrategy:
    """``usual`` about 85% of the time, else one of ``others``: most requests get past the
    header checks, so the messages reach the gateway's and the upstream's handling."""
    return st.integers(0, 19).flatmap(
        lambda roll: st.just(usual) if roll < 17 else st.sampled_from(others)
    )


_content_types = _mostly(
    "application/json", "application/json; charset=utf-8", "text/plain", None, "APPLICATION/JSON"
)
_accepts = _mostly(ACCEPT, "*/*", "application/json", "text/event-stream", "", "text/html")
_versions = _mostly(None, "2025-11-25", "2025-06-18", "2026-07-28", "bogus", "", "9999-99-99")
_session_choices = _mostly("own", "none", "random", "other-endpoint")


# -- the property ----------------------------------------------------------------------------


def _check_answer(message: Any) -> None:
    assert isinstance(message, dict), message
    assert message.get("jsonrpc") == "2.0", message
    assert ("result" in message) != ("error" in message), message
    if "error" in message:
        error = message["error"]
        assert isinstance(error.get("code"), int) and isinstance(error.get("message"), str)
        assert error["message"] != INTERNAL_ERROR_OF_OURS, message


def _check_response(response: httpx2.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if not response.content:
        return
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media == "application/json":
        _check_answer(response.json())
    elif media == "text/event-stream":
        events = [
            line[len("data:") :].strip()
            # SSE lines end at CR/LF only (str.splitlines would also cut at U+2028 & co.)
            for line in re.split(r"\r\n|\r|\n", response.text)
            if line.startswith("data:")
        ]
        assert events, response.text[:500]
        for data in events:
            message = json.loads(data)
            if "method" not in message:  # notifications (progress) may come before the answer
                _check_answer(message)
    else:
        raise AssertionError(f"unexpected {media!r} body: {response.text[:200]}")


def test_generated_traffic_gets_well_formed_answers_and_the_gateway_keeps_working(
    fuzz_site, record_property
):
    count = {"examples": 0, "over_sse": 0, "by_status": {}}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        body=_bodies(),
        unified=st.booleans(),
        content_type=_content_types,
        accept=_accepts,
        version=_versions,
        session=_session_choices,
        authorized=_mostly(True, False),
        over_sse=st.integers(0, 3).map(lambda roll: roll == 3),
    )
    def one_request(body, unified, content_type, accept, version, session, authorized, over_sse):
        headers = {"Accept": accept}
        if authorized:
            headers["Authorization"] = f"Bearer {fuzz_site.key}"
        if content_type is not None:
            headers["Content-Type"] = content_type
        if version is not None:
            headers["MCP-Protocol-Version"] = version
        if session == "own":
            headers["mcp-session-id"] = fuzz_site.sessions[unified]
        elif session == "random":
            headers["mcp-session-id"] = uuid.uuid4().hex
        elif session == "other-endpoint":
            headers["mcp-session-id"] = fuzz_site.sessions[not unified]
        if over_sse:
            headers.pop("mcp-session-id", None)
            stream = fuzz_site.sse[unified if session != "other-endpoint" else not unified]
            url = fuzz_site.live.base_url + stream.post_path
        else:
            url = fuzz_site.url(unified)
        response = http.post(url, content=body, headers=headers)
        count["examples"] += 1
        if over_sse:
            count["over_sse"] += 1
        count["by_status"][response.status_code] = (
            count["by_status"].get(response.status_code, 0) + 1
        )
        _check_response(response)

    with httpx2.Client(timeout=60) as http:
        one_request()
    # What the SSE sessions were sent is answered on their streams: let the last answers land.
    time.sleep(1.0)
    sse_answers = 0
    for stream in fuzz_site.sse.values():
        for message in list(stream.messages):
            if "method" not in message:
                _check_answer(message)
                sse_answers += 1
    print(
        f"\nMCP fuzz: {count['examples']} generated requests ({count['over_sse']} over SSE, "
        f"{sse_answers} answers on the SSE streams), answers by status {count['by_status']}"
    )
    record_property("fuzz_examples", count["examples"])
    assert count["examples"] >= EXAMPLES // 2

    async def a_normal_call_still_works() -> None:
        for unified, tool in ((False, "echo"), (True, "fixture__echo")):
            async with handshake_session(fuzz_site.url(unified), fuzz_site.key) as client:
                result = await client.call_tool(tool, {"text": "after the fuzz"})
                assert result.content[0].text == "after the fuzz"

    asyncio.run(a_normal_call_still_works())
    with httpx2.Client(timeout=60) as http:
        for unified, tool in ((False, "echo"), (True, "fixture__echo")):
            stream = fuzz_site.sse[unified]
            call = {
                "jsonrpc": "2.0",
                "id": "after-the-fuzz",
                "method": "tools/call",
                "params": {"name": tool, "arguments": {"text": "still here"}},
            }
            posted = http.post(
                fuzz_site.live.base_url + stream.post_path,
                json=call,
                headers={"Authorization": f"Bearer {fuzz_site.key}"},
            )
            assert posted.status_code == 202, posted.text
            answer = stream.wait_for("after-the-fuzz")
            assert answer["result"]["content"][0]["text"] == "still here"
    # the sessions opened before the fuzz are still the gateway's
    for unified in (False, True):
        assert fuzz_site.sessions[unified] in fuzz_site.live.gateway.sessions
