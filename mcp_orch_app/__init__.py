"""mcp-orch: a self-hosted MCP orchestrator for teams."""
