#!/usr/bin/env bash
# Run every check of mcp-orch: lint, format, unit + integration tests, then browser tests.
#
#   bash scripts/test.sh
#
# Sets up .venv (requirements-test.txt), bun and Debian's Chromium on the first run. PostgreSQL
# cases run when MCP_ORCH_TEST_POSTGRES_URL is set (.ci/run sets it), else they are skipped.
# Every check runs even when an earlier one fails; the exit status is non-zero if any failed.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

setup_started=$SECONDS
setup_python requirements-test.txt
setup_bun
setup_chromium
setup_conformance
say "Tools ready in $((SECONDS - setup_started))s"
# Chromium keeps its crash-report folder in $XDG_CONFIG_HOME (~/.config by default). Moved only
# now: pip, above, must still read the user's ~/.config/pip.
export XDG_CONFIG_HOME="$TOOLS/config"

has_test_files() {
    [[ -n "$(find "$@" -type f \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit)" ]]
}

# run_pytest FOLDER...: pytest's "no tests collected" (5) passes only for folders with no tests.
run_pytest() {
    local folders=() folder rc=0
    for folder in "$@"; do
        [[ -d "$folder" ]] && folders+=("$folder")
    done
    if ((${#folders[@]} == 0)) || ! has_test_files "${folders[@]}"; then
        echo "no tests in $* yet"
        return 0
    fi
    python -m pytest "${folders[@]}" || rc=$?
    return "$rc"
}

results=()
failures=0
check() {
    local name="$1" started=$SECONDS rc=0
    shift
    say "$name"
    "$@" || rc=$?
    if ((rc == 0)); then
        results+=("PASS  $name  ($((SECONDS - started))s)")
    else
        results+=("FAIL  $name  (exit $rc, $((SECONDS - started))s)")
        failures=$((failures + 1))
    fi
}

if [[ -z "${MCP_ORCH_TEST_POSTGRES_URL:-}" ]]; then
    echo "MCP_ORCH_TEST_POSTGRES_URL is not set: PostgreSQL cases will be skipped."
fi

check "ruff check" ruff check .
check "ruff format --check" ruff format --check .
check "pytest tests/unit tests/integration" run_pytest tests/unit tests/integration
# Browser tests start the app themselves; their own pytest run keeps Playwright's event loop
# apart from pytest-asyncio's.
check "pytest tests/e2e (browser)" run_pytest tests/e2e

say "Summary"
printf '    %s\n' "${results[@]}"
if ((failures > 0)); then
    printf '\033[31m%d of %d checks failed\033[0m\n' "$failures" "${#results[@]}"
    exit 1
fi
printf '\033[32mall %d checks passed\033[0m\n' "${#results[@]}"
