"""Command line of mcp-orch: ``python -m mcp_orch_app.cli migrate|build-ui|serve``.

``migrate`` checks the settings (the same preflight as the app) and brings the configured
database to the newest schema. ``scripts/run.sh`` runs it before every start; running it
again changes nothing.

``build-ui`` builds the web UI into the build cache (``.ui-build/``, see ui_build.py) unless a
build of the current sources is already there. ``serve`` does the same, then serves the app
(web UI, REST API, MCP endpoints) on one port without rebuilding: a restart with unchanged
sources takes seconds, and the chunks of the previous builds stay served for open tabs.
"""

from __future__ import annotations

import argparse
import sys

from mcp_orch_app.config import get_settings
from mcp_orch_app.lifecycle import preflight, record_installation_key


def migrate(_args: argparse.Namespace) -> int:
    preflight()
    from mcp_orch_app.migrations import MigrationError, upgrade_to_head

    settings = get_settings()
    print(f"mcp-orch: data directory {settings.data_dir}")
    try:
        result = upgrade_to_head(settings.database_url)
    except MigrationError as exc:
        sys.stderr.write(f"\nmcp-orch cannot migrate the database: {exc}\n\n")
        return 1
    print(f"mcp-orch: database {result.describe()}")
    record_installation_key()
    return 0


def build_ui(args: argparse.Namespace) -> int:
    from mcp_orch_app import ui_build

    try:
        key, _built = ui_build.UIBuildCache().ensure(ui_build.reflex_build, force=args.rebuild)
    except ui_build.UIBuildError as exc:
        sys.stderr.write(f"\nmcp-orch cannot build the web UI: {exc}\n\n")
        return 1
    print(f"mcp-orch: web UI build {key} ready in {ui_build.CACHE_DIR_NAME}/builds/{key}")
    return 0


def serve(args: argparse.Namespace) -> int:
    preflight()
    from mcp_orch_app import ui_build

    cache = ui_build.UIBuildCache()
    try:
        key, _built = cache.ensure(ui_build.reflex_build, force=args.rebuild)
    except ui_build.UIBuildError as exc:
        sys.stderr.write(f"\nmcp-orch cannot build the web UI: {exc}\n\n")
        return 1
    ui_build.link_served_into_web_dir(cache.assemble(key))
    ui_build.run_backend(args.host, args.port)
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"a port number is 1 to 65535, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mcp_orch_app.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    migrate_parser = commands.add_parser(
        "migrate",
        help="check the settings and upgrade the configured database to the newest schema",
        description="Check the settings (DATABASE_URL, MCP_ORCH_DATA_DIR, MCP_ORCH_SECRET_KEY) "
        "and upgrade the database to the newest schema. Safe to run repeatedly.",
    )
    migrate_parser.set_defaults(handler=migrate)
    rebuild_help = "build even when a build of the current sources is cached"
    build_parser_ = commands.add_parser(
        "build-ui",
        help="build the web UI into .ui-build/ unless the current sources are built already",
    )
    build_parser_.add_argument("--rebuild", action="store_true", help=rebuild_help)
    build_parser_.set_defaults(handler=build_ui)
    serve_parser = commands.add_parser(
        "serve",
        help="serve the app on one port, building the web UI first only if its sources changed",
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve_parser.add_argument("--port", type=_port, default=3000, help="port to listen on")
    serve_parser.add_argument("--rebuild", action="store_true", help=rebuild_help)
    serve_parser.set_defaults(handler=serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
