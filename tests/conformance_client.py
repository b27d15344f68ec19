"""The client the MCP conformance suite's client scenarios drive (`conformance client --command`).

The suite starts a mock server, then runs ``<command> <server URL>`` with the scenario's name in
``MCP_CONFORMANCE_SCENARIO``, and judges what the mock server saw. This program plays each
scenario's client with the real SDK client (`ClientSession` over streamable HTTP):

- ``python conformance_client.py URL``: directly against the mock server (the baseline);
- ``python conformance_client.py --gateway BASE --project ID --token TOKEN --key KEY URL``:
  registers URL as a streamable-HTTP server of that project through mcp-orch's REST API (the
  token is a login session's), runs the same steps through the project's per-server endpoint
  with the project API key KEY, and removes the server again. Every request the mock server sees then comes from mcp-orch.

When the suite runs a scenario at the 2026-07-28 wire (``MCP_CONFORMANCE_PROTOCOL_VERSION``), the
steps are MODERN_SCENARIOS' with the SDK's modern `mcp.Client` (server/discover, per-request
`_meta`), the tool calls of ``MCP_CONFORMANCE_CONTEXT`` where the scenario hands some.

Exit status 0 when the steps ran, 1 with the error on stderr otherwise (the suite reports both).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import mcp.types as types
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client

CALL_TIMEOUT = 20.0


def defaults_of(schema: Any) -> dict[str, Any]:
    """The default of each property of an elicitation's requested schema (SEP-1034): what a
    client that applies defaults answers when the user accepts without changing anything."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    return {
        name: spec["default"]
        for name, spec in properties.items()
        if isinstance(spec, dict) and "default" in spec
    }


async def accept_with_defaults(_context: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(
        action="accept", content=defaults_of(getattr(params, "requested_schema", None))
    )


async def call_first_tool(session: ClientSession) -> None:
    """initialize / tools_call: list the tools, call the first with two numbers."""
    tools = await session.list_tools()
    if tools.tools:
        await session.call_tool(tools.tools[0].name, {"a": 2, "b": 3})


async def call_named_tool(session: ClientSession, name: str) -> None:
    tools = await session.list_tools()
    if name not in {tool.name for tool in tools.tools}:
        raise RuntimeError(f"the server offers no tool {name!r}: {[t.name for t in tools.tools]}")
    result = await session.call_tool(name, {})
    if result.is_error:
        raise RuntimeError(f"{name} failed: {result.content}")


SCENARIOS: dict[str, tuple[dict[str, Any], Any]] = {
    # scenario -> (ClientSession options, steps after initialize)
    "initialize": ({}, call_first_tool),
    "tools_call": ({}, call_first_tool),
    "elicitation-sep1034-client-defaults": (
        {"elicitation_callback": accept_with_defaults},
        lambda session: call_named_tool(session, "test_client_elicitation_defaults"),
    ),
    "sse-retry": ({}, lambda session: call_named_tool(session, "test_reconnection")),
}


MODERN_ERA = "2026-07-28"
"""The era whose scenarios run with the SDK's modern client (per-request `_meta`, no handshake):
the suite names the scenario's protocol version in ``MCP_CONFORMANCE_PROTOCOL_VERSION``."""


def context() -> dict[str, Any]:
    """What the suite hands the client for this scenario (``MCP_CONFORMANCE_CONTEXT``)."""
    raw = os.environ.get("MCP_CONFORMANCE_CONTEXT")
    parsed = json.loads(raw) if raw else {}
    return parsed if isinstance(parsed, dict) else {}


async def list_roots(_context: Any) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[])


async def decline_sampling(_context: Any, _params: Any) -> types.ErrorData:
    return types.ErrorData(code=types.INVALID_REQUEST, message="no model behind this client")


async def call_each_tool(client: Client) -> None:
    """Every listed tool called once with no arguments (a call the server fails is its verdict)."""
    for tool in (await client.list_tools()).tools:
        await client.call_tool(tool.name, {})


async def call_context_tools(client: Client) -> None:
    """The tool calls the scenario's context names, with its arguments (http-custom-headers)."""
    await client.list_tools()
    for call in context().get("toolCalls", []):
        await client.call_tool(call["name"], call.get("arguments", {}))


async def use_every_feature(client: Client) -> None:
    """Tools, resources and prompts listed, each called / read / got once (http-standard-headers)."""
    for tool in (await client.list_tools()).tools:
        await client.call_tool(tool.name, {})
    for resource in (await client.list_resources()).resources:
        await client.read_resource(str(resource.uri))
    for prompt in (await client.list_prompts()).prompts:
        await client.get_prompt(prompt.name)


async def echo_focal_schema(client: Client) -> None:
    """json-schema-2020-12-preservation: the focal tool's inputSchema echoed back verbatim."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    if "json_schema_2020_12_tool" not in tools:
        raise RuntimeError(f"no focal tool among {sorted(tools)}")
    schema = tools["json_schema_2020_12_tool"].input_schema
    await client.call_tool("json_schema_echo", {"schema": schema})


async def list_tools_only(client: Client) -> None:
    await client.list_tools()


MODERN_SCENARIOS: dict[str, Any] = {
    # scenario -> steps with a connected modern `mcp.Client`
    "tools_call": lambda client: call_first_tool(client),
    "request-metadata": list_tools_only,
    "http-standard-headers": use_every_feature,
    "http-custom-headers": call_context_tools,
    "http-invalid-tool-headers": call_each_tool,
    "json-schema-ref-no-deref": list_tools_only,
    "json-schema-2020-12-preservation": echo_focal_schema,
    "sep-2322-client-request-state": call_each_tool,
}


async def run_modern(scenario: str, endpoint: str, key: str | None = None) -> None:
    """The scenario's steps with the SDK's `mcp.Client` in auto mode (server/discover), which
    declares roots, sampling and elicitation so the scenarios can judge the capabilities sent."""
    headers = {"Authorization": f"Bearer {key}"} if key else None
    timeout = httpx.Timeout(CALL_TIMEOUT, read=None)
    async with (
        httpx.AsyncClient(headers=headers, timeout=timeout) as http,
        Client(
            streamable_http_client(endpoint, http_client=http),
            elicitation_callback=accept_with_defaults,
            list_roots_callback=list_roots,
            sampling_callback=decline_sampling,
            client_info=types.Implementation(name="mcp-orch-conformance-client", version="1.0.0"),
        ) as client,
    ):
        await asyncio.wait_for(MODERN_SCENARIOS[scenario](client), CALL_TIMEOUT)


@asynccontextmanager
async def through_gateway(base: str, project: str, token: str, url: str) -> AsyncIterator[str]:
    """``url`` registered as a streamable-HTTP server of ``project``; yields its endpoint."""
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {token}"}
    servers = f"{base}/api/projects/{project}/servers"
    async with httpx.AsyncClient(headers=headers, timeout=CALL_TIMEOUT) as rest:
        created = await rest.post(
            servers,
            json={
                "name": name,
                "transport": "streamable_http",
                "url": url,
                "timeout_seconds": int(CALL_TIMEOUT),
            },
        )
        if created.status_code != 201:
            raise RuntimeError(f"registering {url}: HTTP {created.status_code} {created.text}")
        try:
            yield f"{base}/projects/{project}/servers/{name}/mcp"
        finally:
            await rest.delete(f"{servers}/{created.json()['id']}")


async def run(scenario: str, endpoint: str, key: str | None = None) -> None:
    options, steps = SCENARIOS[scenario]
    headers = {"Authorization": f"Bearer {key}"} if key else None
    timeout = httpx.Timeout(CALL_TIMEOUT, read=None)
    async with (
        httpx.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(endpoint, http_client=http) as (read, write),
        ClientSession(read, write, **options) as session,
    ):
        await asyncio.wait_for(session.initialize(), CALL_TIMEOUT)
        await asyncio.wait_for(steps(session), CALL_TIMEOUT)


async def main(arguments: argparse.Namespace) -> None:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    modern = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION") == MODERN_ERA
    known = MODERN_SCENARIOS if modern else SCENARIOS
    if scenario not in known:
        raise SystemExit(f"no steps for scenario {scenario!r}; known: {sorted(known)}")
    play = run_modern if modern else run
    if arguments.gateway is None:
        await play(scenario, arguments.url)
        return
    async with through_gateway(
        arguments.gateway, arguments.project, arguments.token, arguments.url
    ) as endpoint:
        await play(scenario, endpoint, arguments.key)


def leaves(exc: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups, which task groups raise."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", help="mcp-orch's base URL (drive the scenario through it)")
    parser.add_argument("--project", help="the project the server is registered in")
    parser.add_argument("--token", help="a login session token of the project's owner")
    parser.add_argument("--key", help="a project API key for the MCP endpoint")
    parser.add_argument("url", help="the mock server's URL (the suite appends it)")
    try:
        asyncio.run(main(parser.parse_args()))
    except Exception as exc:
        for leaf in leaves(exc):
            print(f"{type(leaf).__name__}: {leaf}", file=sys.stderr)
        sys.exit(1)
