"""/profile: name, password and the user's login sessions."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    data_table,
    date_text,
    error_callout,
    form_field,
    loading_block,
    page_header,
    section,
)
from mcp_orch_app.ui.dialogs import confirm_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.profile import ProfileState
from mcp_orch_app.ui.states.rows import LoginSessionRow
from mcp_orch_app.ui.views.connected_apps import connected_apps_section


def _account() -> rx.Component:
    return section(
        "Account",
        rx.form(
            rx.vstack(
                form_field(
                    "Email",
                    rx.input(
                        value=AuthState.user_email, read_only=True, variant="soft", width="100%"
                    ),
                    "Your email is your login; an administrator can help you change it.",
                ),
                form_field(
                    "Name",
                    rx.input(
                        name="name",
                        value=ProfileState.name,
                        on_change=ProfileState.set_name,
                        max_length=200,
                        width="100%",
                        id="profile-name",
                    ),
                ),
                rx.button("Save name", type="submit", loading=ProfileState.saving_name),
                spacing="4",
                align="start",
                width="100%",
            ),
            on_submit=ProfileState.save_name,
            reset_on_submit=False,
        ),
        icon="user",
    )


def _password_input(name: str, auto_complete: str) -> rx.Component:
    return rx.input(name=name, type="password", auto_complete=auto_complete, width="100%")


def _password() -> rx.Component:
    return section(
        "Password",
        rx.fragment(
            rx.form(
                rx.vstack(
                    form_field(
                        "Current password", _password_input("current_password", "current-password")
                    ),
                    form_field(
                        "New password",
                        _password_input("new_password", "new-password"),
                        "At least 10 characters. Your other sessions are logged out.",
                    ),
                    form_field(
                        "Confirm new password", _password_input("confirm_password", "new-password")
                    ),
                    error_callout(ProfileState.password_error),
                    rx.button(
                        "Change password", type="submit", loading=ProfileState.saving_password
                    ),
                    spacing="4",
                    align="start",
                    width="100%",
                ),
                on_submit=ProfileState.change_password,
                reset_on_submit=True,
            ),
        ),
        icon="key-round",
    )


def _session_row(session: LoginSessionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.icon("monitor", size=16, color=rx.color("gray", 10)),
                rx.tooltip(rx.text(session.client, size="2"), content=session.user_agent),
                rx.cond(session.current, rx.badge("this browser", color_scheme="green")),
                align="center",
                spacing="2",
            )
        ),
        rx.table.cell(rx.code(session.ip, variant="ghost")),
        rx.table.cell(date_text(session.created)),
        rx.table.cell(
            rx.text(session.last_seen, size="2", color_scheme="gray", white_space="nowrap")
        ),
        rx.table.cell(date_text(session.expires)),
        align="center",
    )


def _logout_everywhere() -> rx.Component:
    return confirm_dialog(
        rx.button(
            rx.icon("log-out", size=16),
            "Log out everywhere",
            color_scheme="red",
            variant="soft",
            loading=ProfileState.ending_sessions,
        ),
        "Log out everywhere?",
        "Every login session of yours ends, this one included. "
        "API keys of your projects are not affected.",
        "Log out everywhere",
        ProfileState.logout_everywhere,
    )


def _sessions() -> rx.Component:
    return section(
        "Login sessions",
        rx.text(
            "Browsers and REST clients logged in to your account.",
            size="2",
            color_scheme="gray",
        ),
        data_table(
            ["Client", "IP address", "Started", "Last seen", "Expires"],
            rx.foreach(ProfileState.sessions, _session_row),
            id="sessions-table",
        ),
        icon="laptop",
        actions=_logout_everywhere(),
    )


@protected
def profile_page() -> rx.Component:
    return rx.box(
        page_header("Profile", "Your account, password and login sessions."),
        rx.cond(
            ProfileState.loading,
            loading_block("Loading your profile…"),
            rx.vstack(
                rx.grid(
                    _account(),
                    _password(),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="4",
                    width="100%",
                ),
                _sessions(),
                connected_apps_section(
                    ProfileState.apps,
                    ProfileState.revoke_app,
                    ProfileState.revoking,
                    with_user=False,
                    text="MCP clients you signed in with OAuth, and what each may reach.",
                ),
                spacing="4",
                width="100%",
            ),
        ),
    )
