"""/admin: sign-up switch, the accounts and every project of the instance (administrators
only)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    copy_button,
    data_table,
    date_text,
    error_callout,
    form_field,
    icon_count,
    once_loaded,
    page_header,
    person,
    problem_page,
    search_input,
    section,
    switch_row,
    time_ago,
    with_description,
)
from mcp_orch_app.ui.dialogs import form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.admin import TEMPORARY_PASSWORD, AdminState
from mcp_orch_app.ui.states.rows import ProjectRow, UserRow


def _switch_setting(
    title: str, on_text: str, off_text: str, note: str, checked, saving, on_change, key: str, icon
) -> rx.Component:
    return section(
        title,
        switch_row(
            rx.vstack(
                rx.text(rx.cond(checked, on_text, off_text), size="2", id=f"{key}-status"),
                rx.text(note, size="1", color_scheme="gray"),
                spacing="1",
            ),
            saving,
            rx.switch(
                checked=checked,
                on_change=on_change,
                disabled=saving,
                size="3",
                id=f"{key}-open-switch",
                aria_label=f"Open {title.lower()}",
            ),
        ),
        icon=icon,
    )


def _signup_setting() -> rx.Component:
    return _switch_setting(
        "Sign-up",
        "Open: anyone who can reach this instance can create an account.",
        "Closed: only administrators can create accounts.",
        "The first account of an instance is always allowed and becomes its administrator.",
        AdminState.signup_open,
        AdminState.saving_signup,
        AdminState.set_signup_open,
        "signup",
        "user-plus",
    )


def _oauth_setting() -> rx.Component:
    return _switch_setting(
        "OAuth client registration",
        "Open: any MCP client may register itself (RFC 7591) and ask users to connect it.",
        "Closed: only administrators can register OAuth clients.",
        "Users still choose, on the consent page, what a registered client may reach.",
        AdminState.oauth_registration_open,
        AdminState.saving_oauth,
        AdminState.set_oauth_registration_open,
        "oauth-registration",
        "plug",
    )


def _oauth_lifetimes() -> rx.Component:
    def amount(label: str, value, on_change, key: str, hint: str) -> rx.Component:
        return form_field(
            label,
            rx.input(
                value=value,
                on_change=on_change,
                type="number",
                min="0",
                step="any",
                id=key,
                width="100%",
            ),
            hint,
        )

    return section(
        "OAuth token lifetimes",
        rx.text(
            "How long the tokens handed to connected MCP clients last. Changes apply to tokens "
            "issued from now on.",
            size="2",
            color_scheme="gray",
        ),
        rx.grid(
            amount(
                "Access token (minutes)",
                AdminState.oauth_access_minutes,
                AdminState.set_oauth_access_minutes,
                "oauth-access-minutes",
                "From 1 minute to 1440 (a day); clients refresh it on their own.",
            ),
            amount(
                "Refresh token (days)",
                AdminState.oauth_refresh_days,
                AdminState.set_oauth_refresh_days,
                "oauth-refresh-days",
                "From 1 hour (0.042) to 365 days; each refresh starts it again.",
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        error_callout(AdminState.lifetimes_error),
        rx.hstack(
            rx.button(
                "Save lifetimes",
                on_click=AdminState.save_oauth_lifetimes,
                loading=AdminState.saving_lifetimes,
                id="oauth-lifetimes-save",
            ),
            justify="end",
            width="100%",
        ),
        icon="timer",
    )


def _stat(label: str, value) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.text(value, size="6", weight="bold"),
            spacing="2",
        ),
        size="2",
    )


def _user_actions(user: UserRow) -> rx.Component:
    is_me = user.id == AdminState.my_user_id
    return rx.cond(
        is_me,
        rx.text("You", size="1", color_scheme="gray"),
        rx.menu.root(
            rx.menu.trigger(
                rx.icon_button(
                    rx.icon("ellipsis", size=16),
                    variant="ghost",
                    color_scheme="gray",
                    loading=AdminState.busy_user_id == user.id,
                )
            ),
            rx.menu.content(
                rx.cond(
                    user.is_admin,
                    rx.menu.item(
                        rx.icon("shield-off", size=14),
                        "Remove administrator rights",
                        on_click=AdminState.set_admin(user.id, False),
                    ),
                    rx.menu.item(
                        rx.icon("shield-check", size=14),
                        "Make administrator",
                        on_click=AdminState.set_admin(user.id, True),
                    ),
                ),
                rx.menu.item(
                    rx.icon("key-round", size=14),
                    "Reset password…",
                    on_click=AdminState.open_reset(user.id, user.email),
                ),
                rx.menu.separator(),
                rx.cond(
                    user.is_active,
                    rx.menu.item(
                        rx.icon("ban", size=14),
                        "Deactivate and log out…",
                        color_scheme="red",
                        on_click=AdminState.ask_deactivate(user.id, user.email),
                    ),
                    rx.menu.item(
                        rx.icon("user-round-check", size=14),
                        "Reactivate",
                        on_click=AdminState.set_active(user.id, True),
                    ),
                ),
            ),
        ),
    )


def _user_row(user: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(person(user.name, user.email)),
        rx.table.cell(
            rx.cond(
                user.is_admin,
                rx.badge(rx.icon("shield", size=12), "admin", color_scheme="violet"),
                rx.badge("user", color_scheme="gray"),
            )
        ),
        rx.table.cell(
            rx.cond(
                user.is_active,
                rx.badge("active", color_scheme="green", variant="soft"),
                rx.badge("deactivated", color_scheme="red", variant="soft"),
            )
        ),
        rx.table.cell(
            time_ago(
                user.last_login,
                rx.cond(user.last_login_at != "", user.last_login_at, "Never logged in"),
            )
        ),
        rx.table.cell(date_text(user.created)),
        rx.table.cell(_user_actions(user), text_align="right"),
        align="center",
    )


def create_user_dialog() -> rx.Component:
    return form_dialog(
        rx.button(rx.icon("user-plus", size=16), "Create account"),
        "Create an account",
        "Works also while sign-up is closed. Give the person their password safely; "
        "they can change it on their profile.",
        form_field("Name", rx.input(name="name", width="100%", auto_focus=True)),
        form_field("Email", rx.input(name="email", type="email", width="100%")),
        form_field(
            "Password",
            rx.input(
                name="password",
                type="password",
                auto_complete="new-password",
                width="100%",
            ),
            "At least 10 characters.",
        ),
        rx.text(
            rx.hstack(
                rx.checkbox(name="is_admin"),
                "Administrator",
                spacing="2",
                align="center",
            ),
            as_="label",
            size="2",
        ),
        error=AdminState.create_error,
        submit_label="Create account",
        submitting=AdminState.creating,
        on_submit=AdminState.create_user,
        is_open=AdminState.create_open,
        on_open_change=AdminState.set_create_open,
    )


def reset_password_dialog() -> rx.Component:
    """Sets a typed password, or generates one and shows it once."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Reset the password of " + AdminState.reset_user_email),
            rx.cond(
                TEMPORARY_PASSWORD.value != "",
                rx.vstack(
                    rx.callout(
                        "Give this temporary password to its owner safely; it is shown only "
                        "now. They can change it on their profile.",
                        icon="triangle-alert",
                        color_scheme="amber",
                        size="1",
                        width="100%",
                    ),
                    rx.hstack(
                        rx.code(TEMPORARY_PASSWORD.value, size="3", id="reset-password-value"),
                        copy_button(TEMPORARY_PASSWORD.value, "Copy the password"),
                        align="center",
                        spacing="2",
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Done")),
                        justify="end",
                        width="100%",
                    ),
                    spacing="4",
                    width="100%",
                ),
                rx.form(
                    rx.vstack(
                        rx.text(
                            "Their login sessions end at once. Leave the field empty to "
                            "generate a temporary password.",
                            size="2",
                            color_scheme="gray",
                        ),
                        form_field(
                            "New password",
                            rx.input(
                                name="password",
                                type="password",
                                auto_complete="new-password",
                                placeholder="Generate one",
                                width="100%",
                                id="reset-password-input",
                            ),
                            "At least 10 characters when you type one.",
                        ),
                        error_callout(AdminState.reset_error),
                        rx.hstack(
                            rx.dialog.close(
                                rx.button(
                                    "Cancel", type="button", variant="soft", color_scheme="gray"
                                )
                            ),
                            rx.button(
                                "Reset password",
                                type="submit",
                                loading=AdminState.resetting,
                                id="reset-password-submit",
                            ),
                            justify="end",
                            spacing="3",
                            width="100%",
                        ),
                        spacing="4",
                    ),
                    on_submit=AdminState.reset_password,
                    reset_on_submit=False,
                ),
            ),
            max_width="460px",
        ),
        open=AdminState.reset_user_id != "",
        on_open_change=AdminState.close_reset,
    )


def deactivate_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Deactivate " + AdminState.deactivate_user_email + "?"),
            rx.alert_dialog.description(
                "They are logged out everywhere and cannot log in until an administrator "
                "reactivates the account. Their memberships stay.",
                size="2",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Deactivate",
                        color_scheme="red",
                        on_click=AdminState.set_active(AdminState.deactivate_user_id, False),
                    )
                ),
                justify="end",
                spacing="3",
                margin_top="var(--space-4)",
            ),
            max_width="420px",
        ),
        open=AdminState.deactivate_user_id != "",
        on_open_change=AdminState.close_deactivate,
    )


def _users() -> rx.Component:
    return section(
        "Users",
        search_input(
            "Search users by name or email",
            AdminState.search,
            AdminState.set_search,
            max_width="320px",
        ),
        data_table(
            ["User", "Role", "Status", "Last login", "Created", ""],
            rx.foreach(AdminState.visible_users, _user_row),
            id="users-table",
        ),
        reset_password_dialog(),
        deactivate_dialog(),
        icon="users",
        actions=create_user_dialog(),
    )


def _project_row(project: ProjectRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            with_description(
                rx.link(project.name, href="/projects/" + project.id, weight="medium", size="2"),
                project.description,
            )
        ),
        rx.table.cell(icon_count("users", project.member_count)),
        rx.table.cell(icon_count("server", project.server_count)),
        rx.table.cell(date_text(project.created)),
        align="center",
    )


def _projects() -> rx.Component:
    return section(
        "All projects",
        rx.cond(
            AdminState.projects.length() > 0,
            data_table(
                ["Project", "Members", "Servers", "Created"],
                rx.foreach(AdminState.projects, _project_row),
                id="all-projects-table",
            ),
            rx.text("No projects on this instance yet.", size="2", color_scheme="gray"),
        ),
        icon="folder-kanban",
        actions=rx.badge(AdminState.projects_label, color_scheme="gray"),
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.grid(
            _stat("Accounts", AdminState.users.length()),
            _stat("Active", AdminState.active_count),
            _stat("Administrators", AdminState.admin_count),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="3",
            width="100%",
        ),
        _signup_setting(),
        _oauth_setting(),
        _oauth_lifetimes(),
        _users(),
        _projects(),
        spacing="4",
        width="100%",
    )


@protected
def admin_page() -> rx.Component:
    return rx.box(
        page_header(
            "Administration",
            "Accounts and settings of this instance.",
            rx.link(
                rx.button(rx.icon("activity", size=16), "Background worker", variant="soft"),
                href="/admin/worker",
                id="open-worker",
            ),
        ),
        once_loaded(
            AdminState.problem,
            problem_page(
                "Administrators only",
                AdminState.problem,
                "Back to projects",
                "/projects",
                hint="Ask an administrator of this instance if you need something changed.",
            ),
            AdminState.loading,
            "Loading accounts…",
            _content(),
        ),
    )
