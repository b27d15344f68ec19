"""The MCP bridge: everything between MCP clients and the MCP servers mcp-orch runs for them.

This package owns the upstream side (one pooled connection per server: `upstream`,
`multiplexed_upstream`, `stdio_upstream`, `stdio_process`, `http_upstream`, `pool`), call logging
(`log_writer`), and, as the gateway grows, the client-facing transports and the unified namespace.
Messages are forwarded as raw JSON-RPC dicts: nothing on the call path re-validates them with
pydantic, which is what makes a hop through mcp-orch cheap.
"""
