"""Browser tests: the real app in production mode, driven by Chromium through Playwright.

The app runs once per test module (``python -m mcp_orch_app.cli serve``, production mode on one
free port, embedded SQLite in a fresh data directory, schema made by ``python -m
mcp_orch_app.cli migrate``), so each module starts from an empty instance whose first sign-up
is the administrator. The web UI is built once per source change (the build cache in
``.ui-build/``), so only the first module after a change waits for a build. Playwright's
async API is driven from these fixtures, on pytest-asyncio's session loop (pytest-playwright
is not used: its event loop conflicts with pytest-asyncio).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright, expect

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The first production build installs the frontend packages and bundles the app.
START_TIMEOUT_SECONDS = 420


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Lets fixtures see after the test whether it failed (to keep screenshots of the pages).
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # A fresh instance: embedded SQLite in its own data directory, a key generated there.
    for name in ("DATABASE_URL", "MCP_ORCH_SECRET_KEY", "REFLEX_REDIS_URL"):
        env.pop(name, None)
    env["MCP_ORCH_DATA_DIR"] = str(data_dir)
    env["PATH"] = f"{REPO_ROOT / '.tools' / 'node_modules' / '.bin'}{os.pathsep}{env['PATH']}"
    env["REFLEX_USE_SYSTEM_BUN"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _log_tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    """Stop the whole process group (reflex, its server workers, anything they started)."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def patient_expectations() -> Iterator[None]:
    """Longer ``expect`` waits for a module (``usefixtures``): logins hash a password and pages
    load behind other test runs on two cores."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@contextmanager
def serve_app(data_dir: Path, log_path: Path) -> Iterator[str]:
    """``python -m mcp_orch_app.cli serve`` on a free loopback port with its data in ``data_dir`` (schema
    migrated first; anything already there is kept); yields the app's URL, stops it after."""
    env = _app_env(data_dir)
    subprocess.run(
        [sys.executable, "-m", "mcp_orch_app.cli", "migrate"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mcp_orch_app.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (_answers(f"{url}/ping") and _answers(f"{url}/login/")):
            if process.poll() is not None:
                raise RuntimeError(f"the app stopped while starting:\n{_log_tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the app did not answer in {START_TIMEOUT_SECONDS}s:\n{_log_tail(log_path)}"
                )
            time.sleep(2)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def app_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, artifacts: Path
) -> Iterator[str]:
    """A fresh instance per test module: its first sign-up is the administrator."""
    data_dir = tmp_path_factory.mktemp("mcp-orch-e2e-data")
    log_path = artifacts / f"e2e-app-{request.module.__name__.rsplit('.', 1)[-1]}.log"
    try:
        with serve_app(data_dir, log_path) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
def js_errors() -> list[str]:
    """Uncaught JavaScript errors in the pages of the contexts a test opened."""
    return []


@pytest.fixture
async def new_context(
    request: pytest.FixtureRequest, browser: Browser, app_url: str, js_errors: list[str]
):
    """Opens fresh browser contexts (separate localStorage: separate people) and closes them."""
    contexts: list[BrowserContext] = []

    async def open_context(**options) -> BrowserContext:
        options.setdefault("viewport", {"width": 1360, "height": 900})
        context = await browser.new_context(base_url=app_url, **options)
        context.set_default_timeout(30_000)
        context.on(
            "weberror",
            lambda error: js_errors.append(f"{error.page and error.page.url}: {error.error}"),
        )
        contexts.append(context)
        return context

    yield open_context
    report = getattr(request.node, "report_call", None)
    for index, context in enumerate(contexts):
        if report is not None and report.failed:
            for number, page in enumerate(context.pages):
                name = f"failed-{request.node.name}-{index}-{number}.png"
                await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        await context.close()
