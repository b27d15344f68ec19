#!/usr/bin/env bash
# Start mcp-orch: web UI, REST API and MCP endpoints on one port (production mode).
#
#   bash scripts/run.sh
#
# Sets up .venv (requirements.txt) and bun on the first run, migrates the configured database,
# then serves on http://$MCP_ORCH_HOST:$MCP_ORCH_PORT (default http://127.0.0.1:3000).
# Settings: see README.md (DATABASE_URL, MCP_ORCH_DATA_DIR, MCP_ORCH_SECRET_KEY, MCP_ORCH_WORKERS, ...).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

PORT="${MCP_ORCH_PORT:-3000}"
HOST="${MCP_ORCH_HOST:-127.0.0.1}"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "MCP_ORCH_PORT must be a port number, got '$PORT'"

setup_python requirements.txt
setup_bun

say "Checking settings and migrating the database"
python -m mcp_orch_app.cli migrate

if [[ "$HOST" == "0.0.0.0" || "$HOST" == "::" ]]; then
    url="http://<this machine's address>:$PORT"
else
    url="http://$HOST:$PORT"
fi
say "Starting mcp-orch on $url (the web UI is built once per source change, about a minute)"
echo "    web UI   $url/"
echo "    REST API $url/api  (OpenAPI: $url/api/openapi.json)"
echo "    Stop with Ctrl-C."
# serve reuses the cached build in .ui-build/ when the UI's sources did not change.
exec python -m mcp_orch_app.cli serve --host "$HOST" --port "$PORT"
