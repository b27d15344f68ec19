"""/admin: sign-up switch and the accounts of the instance (administrators only)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    data_table,
    date_text,
    form_field,
    once_loaded,
    page_header,
    person,
    problem_page,
    search_input,
    section,
    time_ago,
)
from mcp_orch_app.ui.dialogs import form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.admin import AdminState
from mcp_orch_app.ui.states.rows import UserRow


def _signup_setting() -> rx.Component:
    return section(
        "Sign-up",
        rx.flex(
            rx.vstack(
                rx.text(
                    rx.cond(
                        AdminState.signup_open,
                        "Open: anyone who can reach this instance can create an account.",
                        "Closed: only administrators can create accounts.",
                    ),
                    size="2",
                    id="signup-status",
                ),
                rx.text(
                    "The first account of an instance is always allowed and becomes its "
                    "administrator.",
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
            ),
            rx.hstack(
                rx.cond(AdminState.saving_signup, rx.spinner(size="2")),
                rx.switch(
                    checked=AdminState.signup_open,
                    on_change=AdminState.set_signup_open,
                    disabled=AdminState.saving_signup,
                    size="3",
                    id="signup-open-switch",
                ),
                align="center",
                spacing="3",
            ),
            justify="between",
            align="center",
            spacing="4",
            width="100%",
        ),
        icon="user-plus",
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
                rx.menu.separator(),
                rx.cond(
                    user.is_active,
                    rx.menu.item(
                        rx.icon("ban", size=14),
                        "Deactivate and log out",
                        color_scheme="red",
                        on_click=AdminState.set_active(user.id, False),
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
            "At least 8 characters.",
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
        icon="users",
        actions=create_user_dialog(),
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
        _users(),
        spacing="4",
        width="100%",
    )


@protected
def admin_page() -> rx.Component:
    return rx.box(
        page_header("Administration", "Accounts and settings of this instance."),
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
