"""The "Connected apps" table of the profile and of a project's settings: OAuth applications
(services/oauth.py) that reach an endpoint for a user, each with its revoke button."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from mcp_orch_app.ui.components import data_table, date_text, section
from mcp_orch_app.ui.dialogs import confirm_dialog
from mcp_orch_app.ui.states.rows import ConnectedAppRow


def connected_apps_section(
    apps, revoke: Callable[[str], rx.EventSpec], revoking, *, with_user: bool, text: str
) -> rx.Component:
    def row(app: ConnectedAppRow) -> rx.Component:
        cells = [
            rx.table.cell(rx.text(app.client_name, weight="medium", size="2")),
            rx.table.cell(rx.text(app.project_name, " · ", app.endpoint, size="2")),
            rx.table.cell(date_text(app.created)),
            rx.table.cell(rx.text(app.last_used, size="2", color_scheme="gray")),
            rx.table.cell(
                confirm_dialog(
                    rx.button(
                        "Disconnect",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        loading=revoking == app.id,
                    ),
                    "Disconnect this application?",
                    "Its tokens stop working at once; it has to be connected again to work.",
                    "Disconnect",
                    revoke(app.id),
                )
            ),
        ]
        if with_user:
            cells.insert(1, rx.table.cell(rx.text(app.user_email, size="2")))
        return rx.table.row(*cells, align="center")

    headers = ["Application", "Endpoint", "Connected", "Last used", ""]
    if with_user:
        headers.insert(1, "User")
    return section(
        "Connected apps",
        rx.text(text, size="2", color_scheme="gray"),
        data_table(headers, rx.foreach(apps, row), id="connected-apps-table"),
        icon="plug",
    )
