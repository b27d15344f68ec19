"""Command line of mcp-orch: ``python -m mcp_orch_app.cli migrate``.

``migrate`` checks the settings (the same preflight as the app) and brings the configured
database to the newest schema. ``scripts/run.sh`` runs it before every start; running it
again changes nothing.
"""

from __future__ import annotations

import argparse
import sys

from mcp_orch_app.config import get_settings
from mcp_orch_app.lifecycle import preflight


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
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
