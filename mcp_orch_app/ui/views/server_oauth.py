"""The OAuth panel of a server's page (ui/states/server_oauth.py), for SSE and streamable-HTTP
servers: the auth setting form (owners and developers) and, for OAuth, the connection."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import error_callout
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.server_detail import ServerDetailState
from mcp_orch_app.ui.states.server_oauth import ServerOAuthState


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.hstack(rx.text(label, size="2", color_scheme="gray", min_width="8em"), value)


def _labelled(label: str, field: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        field,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
    )


def _select(field_id: str, value, on_change, choices: dict[str, str]) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", id=field_id),
        rx.select.content(*(rx.select.item(label, value=key) for key, label in choices.items())),
        value=value,
        on_change=on_change,
    )


def _input(field_id: str, value, on_change, placeholder, **props) -> rx.Component:
    return rx.input(
        value=value,
        on_change=on_change,
        placeholder=placeholder,
        width="100%",
        id=field_id,
        **props,
    )


AUTH_CHOICES = {
    "none": "None",
    "headers": "Static headers (from the configuration)",
    "oauth": "OAuth",
}
MODE_CHOICES = {
    "shared": "One shared connection for the project",
    "per_user": "A connection per user",
}


def _settings_form() -> rx.Component:
    """Auth mode, and for OAuth: shared or per user, scopes, a pre-registered client."""
    state = ServerOAuthState
    oauth_fields = rx.vstack(
        _labelled(
            "Connection",
            _select("oauth-mode", state.form_mode, state.set_form_mode, MODE_CHOICES),
        ),
        _labelled(
            "Scopes",
            _input(
                "oauth-scopes-input",
                state.form_scopes,
                state.set_form_scopes,
                "space-separated, e.g. mcp:read mcp:write",
            ),
            "Empty: the scopes the server asks for.",
        ),
        _labelled(
            "Client id",
            _input(
                "oauth-client-id",
                state.form_client_id,
                state.set_form_client_id,
                "optional: pre-registered at the provider",
            ),
            "Empty: mcp-orch registers itself when the provider allows it.",
        ),
        _labelled(
            "Client secret",
            _input(
                "oauth-client-secret",
                state.form_client_secret,
                state.set_form_client_secret,
                rx.cond(state.secret_stored, "stored: leave empty to keep", "optional"),
                type="password",
                auto_complete="new-password",
            ),
            rx.cond(
                state.secret_stored, "A secret is stored (never shown). Leave empty to keep it.", ""
            ),
        ),
        spacing="2",
        width="100%",
    )
    return rx.vstack(
        _labelled(
            "Authentication",
            _select("oauth-auth", state.form_auth, state.set_form_auth, AUTH_CHOICES),
        ),
        rx.cond(state.form_auth == "oauth", oauth_fields),
        error_callout(state.settings_problem),
        rx.button(
            "Save authentication",
            on_click=state.save_settings,
            loading=state.oauth_busy == "settings",
            variant="soft",
            id="oauth-save",
        ),
        spacing="2",
        width="100%",
        id="oauth-settings",
    )


def oauth_panel() -> rx.Component:
    transport = ServerDetailState.server.transport_key
    remote = (transport == "sse") | (transport == "streamable_http")
    return rx.box(
        rx.cond(
            remote & ((ServerOAuthState.auth == "oauth") | ProjectFrameState.can_develop),
            rx.card(
                rx.vstack(
                    rx.heading("Authentication", size="3"),
                    rx.cond(ProjectFrameState.can_develop, _settings_form()),
                    rx.cond(ServerOAuthState.auth == "oauth", _connection_facts()),
                    spacing="3",
                ),
                width="100%",
                id="oauth-panel",
            ),
        ),
        on_mount=ServerOAuthState.load,
        width="100%",
    )


def _connection_facts() -> rx.Component:
    connection = ServerOAuthState.connection
    may_act = (ServerOAuthState.which == "mine") | ProjectFrameState.can_develop
    return rx.vstack(
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
        width="100%",
    )
