"""The MCP bridge: everything between MCP clients and the MCP servers mcp-orch runs for them.

This package owns the upstream side (one pooled connection per server: `upstream`,
`multiplexed_upstream`, `stdio_upstream`, `stdio_process`, `http_upstream`, `pool`), call logging
(`log_writer`), the client side (`runtime`: the Gateway; `http_endpoints`, `http_security`,
`client_sessions`, `forwarding`), the unified endpoint of a project (`unified`, its names in
`namespace`, its sessions in `unified_sessions`) and the live operations of the UI and REST API
(`operations`).
Messages are forwarded as raw JSON-RPC dicts: nothing on the call path re-validates them with
pydantic, which is what makes a hop through mcp-orch cheap.
"""
