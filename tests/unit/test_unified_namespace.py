"""How the unified endpoint names tools, prompts and resources, and reads the names back."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from mcp_orch_app.gateway.namespace import (
    ToolNames,
    for_unified_session,
    may_name_tool_of,
    prefixed_name,
    split_prefixed_name,
    split_unified_uri,
    unified_content,
    unified_tool_name,
    unified_uri,
    with_unified_uris,
)

LONG_SERVER = "a-server-whose-name-is-so-long-that-every-tool-name-is-cut60"
assert len(LONG_SERVER) == 60


def test_a_tool_name_is_the_server_and_tool_joined_by_two_underscores():
    assert unified_tool_name("github", "create_issue") == "github__create_issue"
    exactly_64 = "s" * 30 + "__" + "t" * 32
    assert unified_tool_name("s" * 30, "t" * 32) == exactly_64


def test_a_name_over_64_characters_is_cut_and_ends_with_a_hash_of_the_full_name():
    full = f"{'s' * 30}__{'t' * 33}"  # 65 characters
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    shortened = unified_tool_name("s" * 30, "t" * 33)
    assert shortened == f"{full[:55]}_{digest}"
    assert len(shortened) == 64


def test_shortened_names_are_the_same_in_every_process():
    # A known value (Python's own hash() is salted per process; this must not be), and the
    # same answer from a fresh interpreter.
    assert unified_tool_name("x" * 40, "y" * 40) == f"{'x' * 40}__{'y' * 13}_7fb3593f"
    assert _in_other_process(LONG_SERVER, "echo") == unified_tool_name(LONG_SERVER, "echo")


def _in_other_process(server: str, tool: str) -> str:
    code = (
        "import sys; from mcp_orch_app.gateway.namespace import unified_tool_name; "
        "print(unified_tool_name(sys.argv[1], sys.argv[2]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, server, tool], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_tools_that_share_a_long_prefix_get_different_names():
    first = unified_tool_name(LONG_SERVER, "list_everything_in_the_repository")
    second = unified_tool_name(LONG_SERVER, "list_everything_in_the_organisation")
    assert first != second and len(first) == len(second) == 64


def test_which_servers_a_tool_name_may_belong_to():
    assert may_name_tool_of("git", "git__log")
    assert not may_name_tool_of("git", "github__log")
    assert not may_name_tool_of("gi", "git__log")
    # A server name of 60 characters: its shortened tool names keep only part of its name.
    shortened = unified_tool_name(LONG_SERVER, "echo")
    assert not shortened.startswith(f"{LONG_SERVER}__")
    assert may_name_tool_of(LONG_SERVER, shortened)
    assert not may_name_tool_of("b" + LONG_SERVER[1:], shortened)
    # One that shares the kept part may own it too: the tool lists decide (ToolNames).
    assert may_name_tool_of(LONG_SERVER[:-1] + "y", shortened)


def test_the_tool_index_reads_shortened_names_back():
    names = ToolNames()
    tools = ["echo", "a_tool_with_a_name_long_enough_to_be_shortened_too"]
    index = names.remember("id-1", LONG_SERVER, tools)
    assert sorted(index.values()) == sorted(tools)
    for tool in tools:
        assert names.tool("id-1", LONG_SERVER, unified_tool_name(LONG_SERVER, tool)) == tool
    assert names.tool("id-1", LONG_SERVER, unified_tool_name(LONG_SERVER, "other")) is None
    # A rename makes the old listing useless; a tools/list_changed drops it.
    assert names.tool("id-1", "renamed", unified_tool_name("renamed", "echo")) is None
    assert not names.knows("id-1", "renamed") and names.knows("id-1", LONG_SERVER)
    names.forget("id-1")
    assert names.tool("id-1", LONG_SERVER, unified_tool_name(LONG_SERVER, "echo")) is None


def test_prompt_names_split_at_the_first_separator():
    assert prefixed_name("docs", "summarise__long") == "docs__summarise__long"
    assert split_prefixed_name("docs__summarise__long") == ("docs", "summarise__long")
    for not_prefixed in ("docs", "__x", "docs__", ""):
        assert split_prefixed_name(not_prefixed) is None


def test_resource_uris_round_trip_whatever_their_scheme():
    for uri in (
        "file:///tmp/a b.txt",
        "fixture://items/{item_id}",
        "https://example.com/x?q=1#frag",
        "demo:opaque",
    ):
        unified = unified_uri("files", uri)
        assert unified.startswith("mcp-orch:files/")
        assert split_unified_uri(unified) == ("files", uri)
    for foreign in ("file:///tmp/x", "mcp-orch:", "mcp-orch:files", "mcp-orch:/x", "mcp-orch:f/"):
        assert split_unified_uri(foreign) is None


def test_resource_uris_in_content_are_made_unified():
    items = [
        {"type": "text", "text": "see"},
        {"type": "resource_link", "uri": "demo://r/1", "name": "one"},
        {"type": "resource", "resource": {"uri": "demo://r/2", "text": "two"}},
        {"uri": "demo://r/3", "text": "read contents"},
    ]
    assert with_unified_uris(items, "ev") == [
        {"type": "text", "text": "see"},
        {"type": "resource_link", "uri": "mcp-orch:ev/demo://r/1", "name": "one"},
        {"type": "resource", "resource": {"uri": "mcp-orch:ev/demo://r/2", "text": "two"}},
        {"uri": "mcp-orch:ev/demo://r/3", "text": "read contents"},
    ]
    assert items[1]["uri"] == "demo://r/1"  # the server's answer is not changed in place
    assert unified_content("not an item", "ev") == "not an item"
    assert with_unified_uris(None, "ev") is None


def test_notifications_are_translated_for_unified_sessions():
    updated = {"method": "notifications/resources/updated", "params": {"uri": "demo://r/1"}}
    assert for_unified_session("ev", updated)["params"]["uri"] == "mcp-orch:ev/demo://r/1"
    log = {"method": "notifications/message", "params": {"level": "info", "data": "x"}}
    assert for_unified_session("ev", log)["params"]["logger"] == "ev"
    named = {"method": "notifications/message", "params": {"level": "info", "logger": "db"}}
    assert for_unified_session("ev", named)["params"]["logger"] == "ev/db"
    changed = {"method": "notifications/tools/list_changed"}
    assert for_unified_session("ev", changed) is changed
