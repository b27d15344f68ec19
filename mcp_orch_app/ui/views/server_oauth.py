"""The OAuth panel of a server's page (ui/states/server_oauth.py); shown for OAuth servers."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.server_oauth import ServerOAuthState


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.hstack(rx.text(label, size="2", color_scheme="gray", min_width="8em"), value)


def oauth_panel() -> rx.Component:
    connection = ServerOAuthState.connection
    may_act = (ServerOAuthState.which == "mine") | ProjectFrameState.can_develop
    return rx.box(
        rx.cond(
            ServerOAuthState.auth == "oauth",
            rx.card(
                rx.vstack(
                    rx.heading("OAuth", size="3"),
                    _fact(
                        "Connection",
                        rx.text(
                            rx.cond(ServerOAuthState.which == "mine", "Yours: ", "Shared: "),
                            connection.label,
                            size="2",
                            id="oauth-status",
                        ),
                    ),
                    rx.cond(
                        connection.present,
                        rx.vstack(
                            rx.cond(
                                connection.subject != "",
                                _fact("Connected as", rx.text(connection.subject, size="2")),
                            ),
                            _fact("Connected by", rx.text(connection.connected_by, size="2")),
                            _fact("Scopes", rx.code(connection.scopes, id="oauth-scopes")),
                            _fact(
                                "Expires",
                                rx.text(connection.expires_at, size="2", id="oauth-expires"),
                            ),
                            rx.cond(
                                connection.last_error != "",
                                rx.callout(connection.last_error, color_scheme="red", size="1"),
                            ),
                            spacing="1",
                        ),
                    ),
                    rx.cond(
                        may_act,
                        rx.hstack(
                            rx.button(
                                rx.cond(connection.present, "Reconnect", "Connect"),
                                on_click=ServerOAuthState.connect(ServerOAuthState.which),
                                loading=ServerOAuthState.oauth_busy == "connect",
                                id="oauth-connect",
                            ),
                            rx.cond(
                                connection.present,
                                rx.button(
                                    "Disconnect",
                                    on_click=ServerOAuthState.disconnect(ServerOAuthState.which),
                                    loading=ServerOAuthState.oauth_busy == "disconnect",
                                    color_scheme="red",
                                    variant="soft",
                                    id="oauth-disconnect",
                                ),
                            ),
                            spacing="2",
                        ),
                    ),
                    spacing="2",
                ),
                width="100%",
                id="oauth-panel",
            ),
        ),
        on_mount=ServerOAuthState.load,
        width="100%",
    )
