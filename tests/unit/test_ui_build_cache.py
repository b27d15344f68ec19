"""The web UI build cache (mcp_orch_app/ui_build.py) on a scratch checkout: the key follows the
UI's sources, a known key skips the build, a changed one builds, and the served folder keeps
the chunks of the previous builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_orch_app import ui_build


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "mcp_orch_app" / "ui").mkdir(parents=True)
    (tmp_path / "mcp_orch_app" / "ui" / "pages.py").write_text("PAGES = 1\n")
    (tmp_path / "rxconfig.py").write_text("config = None\n")
    (tmp_path / "requirements.txt").write_text("reflex==0.10.1\n")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    return tmp_path


class FakeBuilder:
    """Writes a bundle like Reflex's: pages plus hashed chunks named after the build number."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, target: Path) -> None:
        self.calls += 1
        (target / "assets").mkdir()
        (target / "index.html").write_text(f"build {self.calls}")
        (target / "assets" / f"servers-{self.calls:04d}.js").write_text(f"chunk {self.calls}")
        (target / "assets" / "shared.css").write_text(f"css {self.calls}")


def test_the_key_follows_the_ui_sources_and_nothing_else(checkout: Path):
    cache = ui_build.UIBuildCache(checkout)
    first = cache.key()
    assert cache.key() == first
    (checkout / "mcp_orch_app" / "ui" / "__pycache__").mkdir()
    (checkout / "mcp_orch_app" / "ui" / "__pycache__" / "pages.cpython-311.pyc").write_bytes(b"x")
    (checkout / "assets" / "external").mkdir()
    (checkout / "assets" / "external" / "made-by-reflex.js").write_text("x")
    (checkout / "README.md").write_text("docs")
    assert cache.key() == first

    keys = {first}
    for change in (
        lambda: (checkout / "mcp_orch_app" / "ui" / "pages.py").write_text("PAGES = 2\n"),
        lambda: (checkout / "mcp_orch_app" / "new_module.py").write_text(""),
        lambda: (checkout / "rxconfig.py").write_text("config = 1\n"),
        lambda: (checkout / "requirements.txt").write_text("reflex==0.10.2\n"),
        lambda: (checkout / "assets" / "logo.svg").write_text("<svg/>"),
    ):
        change()
        keys.add(cache.key())
    assert len(keys) == 6


def test_the_reflex_version_is_part_of_the_key(checkout: Path, monkeypatch):
    cache = ui_build.UIBuildCache(checkout)
    before = cache.key()
    monkeypatch.setattr(ui_build, "_reflex_version", lambda: "0.99.0")
    assert cache.key() != before


def test_a_known_key_skips_the_build_and_a_source_change_builds(checkout: Path):
    cache, builder = ui_build.UIBuildCache(checkout), FakeBuilder()
    key, built = cache.ensure(builder, log=lambda _line: None)
    assert (built, builder.calls) == (True, 1) and cache.has_build(key)

    assert cache.ensure(builder, log=lambda _line: None) == (key, False)
    assert builder.calls == 1

    (checkout / "mcp_orch_app" / "ui" / "pages.py").write_text("PAGES = 2\n")
    new_key, built = cache.ensure(builder, log=lambda _line: None)
    assert (new_key != key, built, builder.calls) == (True, True, 2)
    assert cache.ensure(builder, force=True, log=lambda _line: None) == (new_key, True)


def test_a_failed_build_leaves_no_build_behind(checkout: Path):
    cache = ui_build.UIBuildCache(checkout)

    def broken(target: Path) -> None:
        (target / "index.html").write_text("half")
        raise ui_build.UIBuildError("bun failed")

    with pytest.raises(ui_build.UIBuildError):
        cache.ensure(broken, log=lambda _line: None)
    assert not cache.has_build(cache.key()) and cache.kept_builds() == []


def test_served_keeps_the_previous_builds_chunks_with_the_newest_pages_on_top(checkout: Path):
    cache, builder = ui_build.UIBuildCache(checkout), FakeBuilder()
    pages = checkout / "mcp_orch_app" / "ui" / "pages.py"
    for number in range(1, 6):
        pages.write_text(f"PAGES = {number}\n")
        key, _ = cache.ensure(builder, log=lambda _line: None)
        served = cache.assemble(key)
        assert (served / "index.html").read_text() == f"build {number}"
        assert (served / "assets" / "shared.css").read_text() == f"css {number}"
        # The chunk an open tab of the previous build asks for next is still there.
        if number > 1:
            assert (served / "assets" / f"servers-{number - 1:04d}.js").is_file()
    # Only the newest KEEP_BUILDS builds are kept, on disk and in what is served.
    assert len(cache.kept_builds()) == ui_build.KEEP_BUILDS
    chunks = sorted(p.name for p in (served / "assets").glob("servers-*.js"))
    assert chunks == ["servers-0003.js", "servers-0004.js", "servers-0005.js"]
    assert not (served / ui_build.MARKER).exists()


def test_the_state_js_patch_applies_once_and_refuses_an_unknown_reflex(tmp_path: Path):
    utils = tmp_path / "utils"
    utils.mkdir()
    state_js = utils / "state.js"
    state_js.write_text("function x() {\n" + ui_build.STATE_JS_ORIGINAL + "}\n")
    ui_build._patch_state_js(tmp_path)
    ui_build._patch_state_js(tmp_path)
    assert state_js.read_text().count("endpoint.port = window.location.port;") == 1

    state_js.write_text("function x() { somethingElse(); }\n")
    with pytest.raises(ui_build.UIBuildError, match="getBackendURL"):
        ui_build._patch_state_js(tmp_path)
