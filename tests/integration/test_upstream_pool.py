"""The upstream side of the gateway against real MCP server processes.

Two real servers: our fixture (tests/fixtures/mcp_fixture_server.py, Python SDK 2.3, which
opens in the 2026-07-28 era) and the TypeScript `@modelcontextprotocol/server-everything`
(installed with npm into .cache/, which speaks the 2025-11-25 handshake era). Process checks
read /proc directly, independently of the code under test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mcp_orch_app.gateway.pool import UpstreamPool
from mcp_orch_app.gateway.stdio_upstream import StdioUpstream
from mcp_orch_app.gateway.upstream import (
    Era,
    Upstream,
    UpstreamCancelled,
    UpstreamConfig,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcp_orch_app.models.enums import LogLevel, ServerLogCategory, Transport
from tests.helpers import FIXTURE_SERVER, install_server_everything

LOG_LEVEL_META = {"io.modelcontextprotocol/logLevel": "info"}


# --- helpers --------------------------------------------------------------------------------


def fixture_config(name: str = "fixture", *, env: dict[str, str] | None = None, **fields: Any):
    return UpstreamConfig(
        server_id=fields.pop("server_id", str(uuid.uuid4())),
        name=name,
        command=sys.executable,
        args=(str(FIXTURE_SERVER),),
        env=env or {},
        timeout_seconds=fields.pop("timeout_seconds", 20.0),
        **fields,
    )


async def call_tool(upstream: Upstream, tool: str, arguments: dict[str, Any], **options: Any):
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    if "meta" in options:
        params["_meta"] = options.pop("meta")
    return await upstream.request(
        "tools/call", params, timeout=options.pop("timeout", 20.0), **options
    )


def text_of(result: dict[str, Any]) -> str:
    return result["content"][0]["text"]


def live_processes() -> dict[int, int]:
    """pid -> process group of every process that is not a zombie, straight from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _parent, group = raw[raw.rfind(")") + 2 :].split()[:3]
        if state != "Z":
            table[int(entry)] = int(group)
    return table


def is_alive(pid: int) -> bool:
    return pid in live_processes()


def group_of(pgid: int) -> list[int]:
    return [pid for pid, group in live_processes().items() if group == pgid]


async def eventually(condition, timeout: float = 5.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} did not happen within {timeout}s")
        await asyncio.sleep(0.02)


def call_log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class Events:
    """Records what the pool reports through on_event."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, ServerLogCategory, LogLevel, str, Any]] = []

    def __call__(self, server_id, category, level, message, details) -> None:
        self.rows.append((server_id, category, level, message, details))

    def of(
        self, category: ServerLogCategory
    ) -> list[tuple[str, ServerLogCategory, LogLevel, str, Any]]:
        return [row for row in self.rows if row[1] is category]


@pytest.fixture
async def events_and_pool() -> AsyncIterator[tuple[Events, UpstreamPool]]:
    events = Events()
    pool = UpstreamPool(on_event=events, backoff_initial=0.3)
    yield events, pool
    await pool.stop_all()


@pytest.fixture(scope="module")
async def fixture_upstream() -> AsyncIterator[StdioUpstream]:
    """One fixture process shared by the protocol tests that leave it as they found it."""
    upstream = StdioUpstream(fixture_config(env={"API_TOKEN": "sk-fixture-0451"}))
    await upstream.start()
    yield upstream
    await upstream.stop()


# --- our fixture server (2026-07-28 era) ----------------------------------------------------


async def test_python_sdk_server_is_reached_in_the_modern_era(fixture_upstream):
    assert fixture_upstream.era is Era.MODERN
    assert fixture_upstream.protocol_version == "2026-07-28"
    assert fixture_upstream.server_info == {"name": "mcp-orch-fixture", "version": "1.0.0"}
    assert "tools" in fixture_upstream.capabilities
    # The server refuses modern requests without the `_meta` envelope, so these answers also
    # show that plain params get it.
    tools = await fixture_upstream.request("tools/list", None, timeout=10)
    assert {"echo", "slow", "progress", "crash"} <= {tool["name"] for tool in tools["tools"]}
    assert text_of(await call_tool(fixture_upstream, "echo", {"text": "héllo"})) == "héllo"


async def test_resources_templates_and_prompts_pass_through(fixture_upstream):
    resources = await fixture_upstream.request("resources/list", {}, timeout=10)
    assert [r["uri"] for r in resources["resources"]] == ["fixture://greeting"]
    templates = await fixture_upstream.request("resources/templates/list", None, timeout=10)
    assert templates["resourceTemplates"][0]["uriTemplate"] == "fixture://items/{item_id}"
    read = await fixture_upstream.request(
        "resources/read", {"uri": "fixture://items/42"}, timeout=10
    )
    assert read["contents"][0]["text"] == "item 42"
    prompt = await fixture_upstream.request(
        "prompts/get", {"name": "greet", "arguments": {"name": "Ada"}}, timeout=10
    )
    assert "Ada" in prompt["messages"][0]["content"]["text"]


async def test_errors_come_back_as_the_server_sent_them(fixture_upstream):
    failed = await call_tool(fixture_upstream, "fail", {"message": "no luck"})
    assert failed["isError"] is True and text_of(failed).endswith("no luck")
    # 2026-07-28 has no ping: the server's own JSON-RPC error is passed on as it came.
    with pytest.raises(UpstreamError) as error:
        await fixture_upstream.request("ping", None, timeout=5)
    assert error.value.code == -32601
    assert error.value.to_wire()["message"] == "Method not found"


async def test_32_concurrent_callers_each_get_their_own_answers(fixture_upstream):
    async def caller(index: int) -> list[str]:
        texts = []
        for call in range(20):
            result = await call_tool(fixture_upstream, "echo", {"text": f"{index}:{call}"})
            texts.append(text_of(result))
        return texts

    answers = await asyncio.gather(*(caller(index) for index in range(32)))
    for index, texts in enumerate(answers):
        assert texts == [f"{index}:{call}" for call in range(20)]
    assert fixture_upstream.in_flight == 0


async def test_progress_reaches_only_the_caller_that_asked(fixture_upstream):
    # Both callers use the same token, as two independent clients may: it must not matter.
    first: list[dict] = []
    second: list[dict] = []
    unsolicited: list[dict] = []
    unsubscribe = fixture_upstream.subscribe(unsolicited.append)
    try:
        results = await asyncio.gather(
            call_tool(
                fixture_upstream,
                "progress",
                {"steps": 3},
                meta={"progressToken": "tok"},
                on_notification=first.append,
            ),
            call_tool(
                fixture_upstream,
                "progress",
                {"steps": 5},
                meta={"progressToken": "tok"},
                on_notification=second.append,
            ),
            call_tool(fixture_upstream, "progress", {"steps": 2}),
        )
    finally:
        unsubscribe()
    assert [text_of(r) for r in results] == ["done 3 steps", "done 5 steps", "done 2 steps"]
    assert [n["params"]["progress"] for n in first] == [1, 2, 3]
    assert [n["params"]["progress"] for n in second] == [1, 2, 3, 4, 5]
    assert {n["params"]["progressToken"] for n in first + second} == {"tok"}
    assert {n["method"] for n in first + second} == {"notifications/progress"}
    assert unsolicited == []


async def test_logging_notifications_go_to_subscribers(fixture_upstream):
    received: list[dict] = []
    unsubscribe = fixture_upstream.subscribe(received.append)
    try:
        # 2026-07-28 logging is opt-in per request: the caller's logLevel is passed on.
        await call_tool(
            fixture_upstream, "log", {"message": "disk almost full"}, meta=LOG_LEVEL_META
        )
        await eventually(lambda: received, 2.0, "a log notification")
    finally:
        unsubscribe()
    assert received[0]["method"] == "notifications/message"
    assert received[0]["params"]["data"] == "disk almost full"


async def test_server_env_reaches_the_child_and_mcp_orch_env_does_not(fixture_upstream):
    assert "MCP_ORCH_SECRET_KEY" in os.environ  # set by the test suite's conftest
    assert text_of(await call_tool(fixture_upstream, "env", {"name": "API_TOKEN"})) == (
        "sk-fixture-0451"
    )
    assert text_of(await call_tool(fixture_upstream, "env", {"name": "MCP_ORCH_SECRET_KEY"})) == ""
    assert text_of(await call_tool(fixture_upstream, "env", {"name": "PATH"})) == os.environ["PATH"]


async def announced_tool_changes(upstream: Upstream, settle: float = 0.0) -> list[dict]:
    """Start a modern-era upstream, make the fixture announce a tool change and return what
    the upstream's subscribers got (``settle``: time for a stream opened in the background)."""
    await upstream.start()
    try:
        assert upstream.era is Era.MODERN
        received: list[dict] = []
        upstream.subscribe(received.append)
        await asyncio.sleep(settle)
        await call_tool(upstream, "announce_tools_changed", {})
        await eventually(lambda: received, 5.0, "the list_changed notification")
        return received
    finally:
        await upstream.stop()


async def test_a_modern_servers_list_changes_arrive_through_a_listen_stream():
    # A 2026-07-28 server sends list changes only on a subscriptions/listen stream, which the
    # upstream opens after the handshake; subscribers get them like a handshake-era server's.
    received = await announced_tool_changes(StdioUpstream(fixture_config()))
    assert [m["method"] for m in received] == ["notifications/tools/list_changed"]
    assert "io.modelcontextprotocol/subscriptionId" not in str(received[0])


async def test_a_handshake_era_server_gets_answers_to_its_own_requests():
    # The fixture can send requests to its client only in the 2025-11-25 era.
    upstream = StdioUpstream(fixture_config(), era=Era.HANDSHAKE)
    await upstream.start()
    try:
        assert upstream.era is Era.HANDSHAKE and upstream.protocol_version == "2025-11-25"
        answers = [
            text_of(await call_tool(upstream, "ask_client", {"what": what}))
            for what in ("ping", "roots", "sampling")
        ]
        assert answers[:2] == ["pong", "roots: 0"]
        assert answers[2].startswith("error -32601: mcp-orch does not pass sampling/createMessage")

        received: list[dict] = []
        upstream.subscribe(received.append)
        await call_tool(upstream, "announce_tools_changed", {})
        await eventually(lambda: received, 2.0, "the list_changed notification")
        assert received[0]["method"] == "notifications/tools/list_changed"
    finally:
        await upstream.stop()


async def test_timed_out_call_is_cancelled_upstream_and_never_retried(tmp_path, events_and_pool):
    _, pool = events_and_pool
    call_log = tmp_path / "calls.log"
    config = fixture_config(env={"FIXTURE_CALL_LOG": str(call_log)})
    upstream = await pool.get(config)
    began = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"did not answer tools/call within 0\.5s"):
        await call_tool(upstream, "slow", {"seconds": 30}, timeout=0.5)
    assert time.monotonic() - began < 2.0
    await eventually(lambda: "slow:cancelled" in call_log_lines(call_log), 3.0, "the cancel")
    await asyncio.sleep(0.3)  # room for a retry, were there one
    assert [line for line in call_log_lines(call_log) if line.startswith("slow")] == [
        "slow",
        "slow:cancelled",
    ]
    assert text_of(await call_tool(upstream, "echo", {"text": "still up"})) == "still up"


async def test_a_call_can_be_cancelled_by_key_or_by_cancelling_its_task(tmp_path, events_and_pool):
    _, pool = events_and_pool
    call_log = tmp_path / "calls.log"
    upstream = await pool.get(fixture_config(env={"FIXTURE_CALL_LOG": str(call_log)}))

    by_key = asyncio.create_task(call_tool(upstream, "slow", {"seconds": 30}, call_key="c1"))
    await eventually(lambda: call_log_lines(call_log).count("slow") == 1, 3.0, "the first call")
    assert await upstream.cancel("c1", "user pressed stop") is True
    with pytest.raises(UpstreamCancelled):
        await by_key
    assert await upstream.cancel("c1") is False

    by_task = asyncio.create_task(call_tool(upstream, "slow", {"seconds": 30}))
    await eventually(lambda: call_log_lines(call_log).count("slow") == 2, 3.0, "the second call")
    by_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await by_task
    await eventually(
        lambda: call_log_lines(call_log).count("slow:cancelled") == 2, 3.0, "both cancels"
    )
    assert upstream.in_flight == 0


@pytest.mark.slow
async def test_crash_fails_the_call_at_once_and_the_next_call_restarts():
    events = Events()
    pool = UpstreamPool(on_event=events, backoff_initial=1.0)
    try:
        await _crash_and_come_back(events, pool)
    finally:
        await pool.stop_all()


async def _crash_and_come_back(events: Events, pool: UpstreamPool) -> None:
    config = fixture_config()
    upstream = await pool.get(config)
    first_pid = upstream.pid
    grandchild = int(text_of(await call_tool(upstream, "spawn_child", {"seconds": 300})))
    assert is_alive(grandchild)

    began = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="exited with code 1") as crashed:
        await call_tool(upstream, "crash", {}, timeout=30)
    assert time.monotonic() - began < 2.0, "the call waited for its timeout"
    assert "fixture: crashing on request" in str(crashed.value)
    [(server_id, _, level, message, details)] = events.of(ServerLogCategory.CRASH)
    assert server_id == config.server_id and level is LogLevel.ERROR
    assert "exited with code 1" in message and details["exit_code"] == 1

    # Backing off: fails fast and says when it retries.
    with pytest.raises(UpstreamUnavailable, match=r"next start attempt in (0\.\d|1\.0)s"):
        await pool.request(config, "ping")
    await eventually(lambda: not group_of(first_pid), 5.0, "reaping the crashed tree")
    assert not is_alive(grandchild)

    await asyncio.sleep(1.0)
    result = await pool.request(
        config, "tools/call", {"name": "echo", "arguments": {"text": "back"}}
    )
    assert text_of(result) == "back"
    assert pool.running(config.server_id).pid != first_pid
    [(_, _, _, restart_message, _)] = events.of(ServerLogCategory.RESTART)
    assert restart_message.startswith("started in")


async def test_pool_subscriptions_survive_a_restart(events_and_pool):
    _, pool = events_and_pool
    config = fixture_config()
    received: list[dict] = []
    pool.subscribe(config.server_id, received.append)
    log_call = {"name": "log", "arguments": {"message": "one"}, "_meta": LOG_LEVEL_META}
    await pool.request(config, "tools/call", log_call)
    await pool.restart(config.server_id)
    await pool.request(config, "tools/call", {**log_call, "arguments": {"message": "two"}})
    await eventually(lambda: len(received) == 2, 2.0, "both log notifications")
    assert [message["params"]["data"] for message in received] == ["one", "two"]


@pytest.mark.slow
async def test_without_auto_restart_a_crashed_server_stays_down_until_restarted(events_and_pool):
    _, pool = events_and_pool
    config = fixture_config(auto_restart=False)
    with pytest.raises(UpstreamUnavailable):
        await pool.request(config, "tools/call", {"name": "crash", "arguments": {}})
    await asyncio.sleep(0.4)  # past any backoff: it is the setting that keeps it down
    with pytest.raises(UpstreamUnavailable, match="auto-restart is off"):
        await pool.request(config, "ping")
    restarted = await pool.restart(config.server_id)
    assert restarted.healthy
    assert text_of(await call_tool(restarted, "echo", {"text": "manual"})) == "manual"


async def test_stop_reaps_the_whole_process_tree(events_and_pool):
    events, pool = events_and_pool
    config = fixture_config()
    upstream = await pool.get(config)
    grandchild = int(text_of(await call_tool(upstream, "spawn_child", {})))
    # The group: the server's supervisor (its leader), the server and its grandchild.
    assert {upstream.pid, grandchild} <= set(group_of(upstream.pid))
    assert len(group_of(upstream.pid)) == 3

    await pool.stop(config.server_id, "server deleted")
    assert group_of(upstream.pid) == []
    assert not is_alive(grandchild)
    assert events.of(ServerLogCategory.STOP)[-1][3] == "stopped: server deleted"
    assert pool.running(config.server_id) is None


async def test_stop_all_reaps_every_tree_and_refuses_new_calls(events_and_pool):
    _, pool = events_and_pool
    configs = [fixture_config(f"s{index}") for index in range(3)]
    upstreams = await asyncio.gather(*(pool.get(config) for config in configs))
    grandchildren = [
        int(text_of(await call_tool(upstream, "spawn_child", {}))) for upstream in upstreams
    ]
    leaders = [upstream.pid for upstream in upstreams]

    await pool.stop_all()
    alive = live_processes()
    assert [pid for pid in leaders + grandchildren if pid in alive] == []
    assert [pid for pid, group in alive.items() if group in leaders] == []
    with pytest.raises(UpstreamUnavailable, match="shutting down"):
        await pool.get(configs[0])


@pytest.mark.slow
async def test_idle_server_is_stopped_and_started_again_on_next_use():
    events = Events()
    pool = UpstreamPool(on_event=events, idle_timeout=0.5)
    try:
        config = fixture_config()
        first = await pool.get(config)
        await call_tool(first, "echo", {"text": "once"})
        await eventually(lambda: events.of(ServerLogCategory.STOP), 4.0, "the idle stop")
        assert "idle" in events.of(ServerLogCategory.STOP)[-1][3]
        assert group_of(first.pid) == []
        again = await pool.get(config)
        assert again.pid != first.pid and again.healthy
    finally:
        await pool.stop_all()


async def test_twenty_concurrent_first_calls_share_one_process(tmp_path, events_and_pool):
    events, pool = events_and_pool
    call_log = tmp_path / "calls.log"
    config = fixture_config(env={"FIXTURE_CALL_LOG": str(call_log)})
    results = await asyncio.gather(
        *(
            pool.request(config, "tools/call", {"name": "echo", "arguments": {"text": str(n)}})
            for n in range(20)
        )
    )
    assert [text_of(result) for result in results] == [str(n) for n in range(20)]
    assert call_log_lines(call_log).count("server:begin") == 1
    assert len(events.of(ServerLogCategory.START)) == 1


@pytest.mark.slow
async def test_concurrent_process_starts_are_bounded(tmp_path):
    call_log = tmp_path / "calls.log"
    env = {"FIXTURE_CALL_LOG": str(call_log), "FIXTURE_START_DELAY": "0.4"}
    pool = UpstreamPool(max_concurrent_starts=2)
    try:
        configs = [fixture_config(f"slow-start-{n}", env=env) for n in range(4)]
        started = await asyncio.gather(*(pool.get(config) for config in configs))
    finally:
        await pool.stop_all()
    assert len({upstream.pid for upstream in started}) == 4
    starting = most = 0
    for line in call_log_lines(call_log):
        starting += {"server:begin": 1, "server:ready": -1}.get(line, 0)
        most = max(most, starting)
    assert 1 <= most <= 2


async def test_a_start_that_hangs_gives_its_start_slot_back_after_a_grace():
    # One start at a time, and a server that never answers the handshake (30 s timeout): a
    # healthy server asked for meanwhile starts once the grace is over, while the hanging
    # start is still waiting for its answer.
    pool = UpstreamPool(max_concurrent_starts=1, start_slot_grace=0.3)
    hanging = fixture_config("hangs", timeout_seconds=30)
    hanging = dataclasses.replace(hanging, args=("-c", "import time; time.sleep(120)"))
    stuck = asyncio.create_task(pool.get(hanging))
    try:
        await asyncio.sleep(0.1)  # the hanging start has the only slot now
        healthy = await asyncio.wait_for(pool.get(fixture_config("healthy")), 20)
        assert healthy.healthy
        assert not stuck.done()
    finally:
        stuck.cancel()
        await pool.stop_all()


async def test_missing_command_or_cwd_gives_a_readable_error(tmp_path, events_and_pool):
    events, pool = events_and_pool
    missing = UpstreamConfig(
        server_id="missing", name="ghost", command="mcp-orch-no-such-command", args=("x",)
    )
    with pytest.raises(UpstreamUnavailable) as error:
        await pool.get(missing)
    assert "MCP server 'ghost': command 'mcp-orch-no-such-command' was not found on PATH" in str(
        error.value
    )
    [(_, _, level, message, _)] = events.of(ServerLogCategory.START)
    assert level is LogLevel.ERROR and "not found on PATH" in message
    with pytest.raises(UpstreamUnavailable, match="next start attempt in"):
        await pool.get(missing)

    no_cwd = fixture_config("nowhere", cwd=str(tmp_path / "gone"))
    with pytest.raises(UpstreamUnavailable, match=r"working directory .* does not exist"):
        await pool.get(no_cwd)


async def test_a_server_that_exits_at_start_says_why(tmp_path, events_and_pool):
    _, pool = events_and_pool
    config = UpstreamConfig(
        server_id="broken",
        name="broken",
        command=sys.executable,
        args=("-c", "import sys; sys.exit('config file missing')"),
    )
    with pytest.raises(UpstreamUnavailable, match=r"exited with code 1.*config file missing"):
        await pool.get(config)


async def test_edited_connection_settings_get_a_fresh_process(events_and_pool):
    _, pool = events_and_pool
    config = fixture_config(env={"API_TOKEN": "old"})
    first = await pool.get(config)
    same = await pool.get(replace(config, timeout_seconds=5.0, auto_restart=False))
    assert same is first  # per-call settings do not cost a restart

    edited = replace(config, env={"API_TOKEN": "new"})
    second = await pool.get(edited)
    assert second.pid != first.pid
    assert not is_alive(first.pid)
    assert text_of(await call_tool(second, "env", {"name": "API_TOKEN"})) == "new"


async def test_stderr_is_reported_shortened_and_rate_limited(events_and_pool):
    events, pool = events_and_pool
    config = fixture_config()
    upstream = await pool.get(config)
    await call_tool(upstream, "write_stderr", {"lines": ["L" * 5000]})
    await call_tool(upstream, "write_stderr", {"lines": ["flood"], "repeat": 500})
    await pool.stop(config.server_id)

    lines = [row[3] for row in events.of(ServerLogCategory.STDERR)]
    long_line = next(line for line in lines if line.startswith("LLL"))
    assert long_line.endswith("... [4000 more characters]")
    # 20 lines per one-second window; a burst may straddle two windows.
    assert 0 < lines.count("flood") <= 40
    assert any("stderr lines dropped" in line for line in lines)


async def test_remote_transports_are_pooled_and_say_when_unreachable(events_and_pool):
    # (The SSE and streamable-HTTP upstreams are tested in test_http_upstreams.py.)
    _, pool = events_and_pool
    remote = UpstreamConfig(
        server_id="remote", name="remote", transport=Transport.SSE, url="http://127.0.0.1:9/sse"
    )
    with pytest.raises(UpstreamUnavailable, match="'remote' is not reachable at http://127"):
        await pool.get(remote)


# --- @modelcontextprotocol/server-everything (2025-11-25 handshake era) ----------------------


@pytest.fixture(scope="session")
def server_everything() -> Path:
    """The npm package, installed once into a git-ignored folder of the checkout."""
    return install_server_everything()


def everything_config(binary: Path) -> UpstreamConfig:
    return UpstreamConfig(
        server_id=str(uuid.uuid4()), name="everything", command=str(binary), args=("stdio",)
    )


@pytest.fixture(scope="module")
async def everything(server_everything) -> AsyncIterator[StdioUpstream]:
    upstream = StdioUpstream(everything_config(server_everything))
    await upstream.start()
    yield upstream
    await upstream.stop()


async def test_server_everything_is_reached_in_the_handshake_era(everything):
    assert everything.era is Era.HANDSHAKE
    assert everything.protocol_version == "2025-11-25"
    assert everything.server_info["name"] == "mcp-servers/everything"
    tools = await everything.request("tools/list", {}, timeout=10)
    names = {tool["name"] for tool in tools["tools"]}
    assert {"echo", "trigger-long-running-operation"} <= names
    result = await call_tool(everything, "echo", {"message": "hi"})
    assert text_of(result) == "Echo: hi"


async def test_server_everything_answers_ping(everything):
    assert await everything.request("ping", None, timeout=5) == {}


async def test_server_everything_progress_reaches_the_caller(everything):
    progress: list[dict] = []
    result = await call_tool(
        everything,
        "trigger-long-running-operation",
        {"duration": 0.3, "steps": 3},
        meta={"progressToken": 7},
        on_notification=progress.append,
    )
    assert "completed" in text_of(result)
    assert [n["params"]["progress"] for n in progress] == [1, 2, 3]
    assert {n["params"]["progressToken"] for n in progress} == {7}


async def test_server_everything_log_messages_reach_subscribers(everything):
    received: list[dict] = []
    unsubscribe = everything.subscribe(received.append)
    try:
        await call_tool(everything, "toggle-simulated-logging", {})
        await eventually(
            lambda: any(m["method"] == "notifications/message" for m in received), 3.0, "a log"
        )
        await call_tool(everything, "toggle-simulated-logging", {})
    finally:
        unsubscribe()


async def test_server_everything_through_the_pool(server_everything, events_and_pool):
    events, pool = events_and_pool
    config = everything_config(server_everything)
    results = await asyncio.gather(
        *(
            pool.request(config, "tools/call", {"name": "get-sum", "arguments": {"a": n, "b": 1}})
            for n in range(10)
        )
    )
    assert [text_of(result) for result in results] == [
        f"The sum of {n} and 1 is {n + 1}." for n in range(10)
    ]
    [(_, _, _, message, details)] = events.of(ServerLogCategory.START)
    assert "handshake era, protocol 2025-11-25" in message and details["era"] == "handshake"
