"""The web UI's production build, made once per source change and kept in ``.ui-build/``.

``reflex run --env prod`` compiles and bundles the frontend on every start (about half a
minute here) and names the JS chunks anew each time, so an open tab's next navigation asks for
chunks that are gone. This module owns the alternative ``python -m mcp_orch_app.cli serve``
uses:

* **key** — a SHA-256 over the UI's inputs: ``mcp_orch_app/**/*.py``, ``rxconfig.py``,
  ``assets/``, ``requirements.txt``, the installed Reflex version and ``RECIPE``. The same key
  means the same bundle, so a start with a known key skips the build entirely.
* **builds** — ``.ui-build/builds/<key>/`` holds one finished bundle (``BUILD.json`` is
  written last, so a half-written build never counts). The newest ``KEEP_BUILDS`` are kept.
* **served** — ``.ui-build/served/`` is what the app serves: the files of the kept builds,
  oldest first, the newest on top. The pages come from the newest build; an older build's
  chunks stay reachable, so a tab opened before an upgrade still navigates.

The folder is next to ``.web`` (which Reflex may wipe on init) and git-ignored. The bundle is
built port-independent: Reflex bakes ``localhost:<port>`` into it and only swaps the host for
the page's, so the build patches its ``getBackendURL`` to take the page's port as well; the app
is always served from one origin (``--single-port``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR_NAME = ".ui-build"
# Bumped when the way a bundle is made changes (the patch below, the build steps).
RECIPE = "1"
KEEP_BUILDS = 3
MARKER = "BUILD.json"
# Reflex's getBackendURL keeps the port baked in at build time; the page's own port is the
# right one for an app served from one origin.
STATE_JS_ORIGINAL = "    endpoint.hostname = frontend_hostname;\n"
STATE_JS_PATCHED = (
    "    endpoint.hostname = frontend_hostname;\n"
    "    // mcp-orch: the backend is on the page's origin (single port), whatever the build's.\n"
    "    endpoint.port = window.location.port;\n"
)


class UIBuildError(RuntimeError):
    """The frontend could not be built; the message says what to look at."""


@dataclass(frozen=True)
class UIBuildCache:
    """The build cache of one checkout (``root``)."""

    root: Path = REPO_ROOT

    @property
    def directory(self) -> Path:
        return self.root / CACHE_DIR_NAME

    @property
    def builds(self) -> Path:
        return self.directory / "builds"

    @property
    def served(self) -> Path:
        return self.directory / "served"

    def build_dir(self, key: str) -> Path:
        return self.builds / key

    def has_build(self, key: str) -> bool:
        return (self.build_dir(key) / MARKER).is_file()

    # --- the key ------------------------------------------------------------------------------

    def source_files(self) -> list[Path]:
        files = [p for p in (self.root / "mcp_orch_app").rglob("*.py") if _counts(p)]
        for name in ("rxconfig.py", "requirements.txt"):
            if (self.root / name).is_file():
                files.append(self.root / name)
        assets = self.root / "assets"
        if assets.is_dir():
            # assets/external/ is written by Reflex itself (git-ignored): not an input.
            files.extend(
                p
                for p in assets.rglob("*")
                if p.is_file() and _counts(p) and "external" not in p.relative_to(assets).parts
            )
        return sorted(files)

    def key(self) -> str:
        digest = hashlib.sha256()
        digest.update(f"recipe={RECIPE}\nreflex={_reflex_version()}\n".encode())
        for path in self.source_files():
            digest.update(path.relative_to(self.root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()[:20]

    # --- building -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One builder at a time per checkout (two starts at once build once)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure(
        self, build: Callable[[Path], None], *, force: bool = False, log=print
    ) -> tuple[str, bool]:
        """The key of a finished build of the current sources, and whether it was built now.

        ``build(target)`` writes a complete static bundle into the empty directory ``target``.
        """
        key = self.key()
        with self._lock():
            if self.has_build(key) and not force:
                log(f"mcp-orch: web UI build {key} is up to date (no rebuild)")
                self._touch(key)
                return key, False
            log(f"mcp-orch: building the web UI ({key}); this takes a minute")
            started = time.monotonic()
            staging = self.builds / f".{key}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            try:
                build(staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            seconds = round(time.monotonic() - started, 1)
            (staging / MARKER).write_text(
                json.dumps({"key": key, "built_at": time.time(), "seconds": seconds})
            )
            target = self.build_dir(key)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
            self._touch(key)
            self._prune()
            log(f"mcp-orch: web UI built in {seconds}s")
            return key, True

    def _touch(self, key: str) -> None:
        # The marker's mtime orders the builds: the one started last is the newest.
        os.utime(self.build_dir(key) / MARKER)

    def kept_builds(self) -> list[str]:
        """The finished builds, oldest first."""
        if not self.builds.is_dir():
            return []
        done = [d for d in self.builds.iterdir() if d.is_dir() and (d / MARKER).is_file()]
        return [d.name for d in sorted(done, key=lambda d: (d / MARKER).stat().st_mtime)]

    def _prune(self) -> None:
        for key in self.kept_builds()[:-KEEP_BUILDS]:
            shutil.rmtree(self.build_dir(key), ignore_errors=True)

    # --- serving ------------------------------------------------------------------------------

    def assemble(self, key: str) -> Path:
        """``served/``: the kept builds' files merged, ``key``'s on top; returns its path."""
        with self._lock():
            order = [k for k in self.kept_builds() if k != key] + [key]
            staging = self.directory / ".served.partial"
            shutil.rmtree(staging, ignore_errors=True)
            for build_key in order:
                _link_tree(self.build_dir(build_key), staging)
            (staging / MARKER).unlink(missing_ok=True)
            # Swap in one rename where possible, so a running server never sees half a tree.
            previous = self.directory / ".served.old"
            shutil.rmtree(previous, ignore_errors=True)
            if self.served.exists():
                self.served.rename(previous)
            staging.rename(self.served)
            shutil.rmtree(previous, ignore_errors=True)
            return self.served


def _counts(path: Path) -> bool:
    return "__pycache__" not in path.parts and not path.name.endswith((".pyc", ".pyo"))


def _reflex_version() -> str:
    try:
        return metadata.version("reflex")
    except metadata.PackageNotFoundError:
        return "absent"


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link (or copy, across devices) every file of ``source`` into ``target``; a file
    already there is replaced (the later build wins)."""
    for directory, _dirs, files in os.walk(source):
        here = target / Path(directory).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            destination = here / name
            if destination.exists() or destination.is_symlink():
                destination.unlink()
            try:
                os.link(Path(directory) / name, destination)
            except OSError:
                shutil.copy2(Path(directory) / name, destination)


# --- the Reflex side ------------------------------------------------------------------------


def _patch_state_js(web_dir: Path) -> None:
    state_js = web_dir / "utils" / "state.js"
    text = state_js.read_text()
    if STATE_JS_PATCHED in text:
        return
    if STATE_JS_ORIGINAL not in text:
        raise UIBuildError(
            f"{state_js} has no getBackendURL host line to patch; the installed Reflex "
            "differs from the one this build recipe knows (see mcp_orch_app/ui_build.py)."
        )
    state_js.write_text(text.replace(STATE_JS_ORIGINAL, STATE_JS_PATCHED, 1))


def reflex_build(target: Path) -> None:
    """Compile the app and bundle the frontend the way ``reflex run --env prod`` does, then
    move the static output to ``target``. Runs in the checkout (Reflex reads rxconfig.py)."""
    from reflex import reflex as reflex_cli
    from reflex.utils import build, prerequisites
    from reflex_base import constants
    from reflex_base.config import get_config
    from reflex_base.environment import environment

    os.chdir(REPO_ROOT)
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_COMPILE_CONTEXT.set(constants.CompileContext.RUN)
    config = get_config()
    prerequisites.assert_in_reflex_dir()
    if prerequisites.needs_reinit():
        reflex_cli._init(name=config.app_name)
    reflex_cli._compile_app(avoid_dirty_check=False)
    web_dir = prerequisites.get_web_dir()
    _patch_state_js(web_dir)
    build.setup_frontend_prod(REPO_ROOT)
    client = web_dir / constants.Dirs.STATIC
    if not (client / "index.html").is_file():
        raise UIBuildError(f"The frontend build left no {client / 'index.html'}.")
    for child in client.iterdir():
        shutil.move(str(child), target / child.name)


def link_served_into_web_dir(served: Path) -> None:
    """Point Reflex's static folder (``.web/build/client``) at ``served``, which Reflex's own
    frontend mount then serves (with its SPA routing and precompressed files)."""
    from reflex.utils import prerequisites
    from reflex_base import constants

    client = prerequisites.get_web_dir() / constants.Dirs.STATIC
    client.parent.mkdir(parents=True, exist_ok=True)
    if client.is_symlink() or client.is_file():
        client.unlink()
    elif client.is_dir():
        shutil.rmtree(client)
    client.symlink_to(served.resolve(), target_is_directory=True)


def run_backend(host: str, port: int) -> None:
    """Serve the app (REST, MCP, the Reflex backend and the built frontend) on one port, as
    ``reflex run --env prod --single-port`` does after its build step. Does not return."""
    import atexit

    from reflex.istate.manager import reset_disk_state_manager
    from reflex.utils import exec as reflex_exec
    from reflex.utils import processes
    from reflex_base import constants
    from reflex_base.config import get_config, reload_config
    from reflex_base.environment import environment

    os.chdir(REPO_ROOT)
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_COMPILE_CONTEXT.set(constants.CompileContext.RUN)
    environment.REFLEX_BACKEND_ONLY.set(False)
    environment.REFLEX_FRONTEND_ONLY.set(False)
    # The bundle is already built: the server workers must not compile the pages again.
    environment.REFLEX_SKIP_COMPILE.set(True)
    reset_disk_state_manager()
    config = get_config()
    config._set_persistent(frontend_port=port, backend_port=port, backend_host=host)
    reload_config()
    config = get_config()
    atexit.register(processes.atexit_handler)
    print(f"mcp-orch: serving on http://{host}:{port}", flush=True)
    reflex_exec.run_backend_prod(host, port, config.loglevel.subprocess_level(), True)
