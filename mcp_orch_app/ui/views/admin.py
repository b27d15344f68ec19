"""/admin: sign-up switch and the accounts of the instance (administrators only)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    data_table,
    error_callout,
    form_field,
    loading_block,
    page_header,
    person,
    problem_page,
    section,
)
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
            rx.tooltip(
                rx.text(user.last_login, size="2", color_scheme="gray", white_space="nowrap"),
                content=rx.cond(user.last_login_at != "", user.last_login_at, "Never logged in"),
            )
        ),
        rx.table.cell(rx.text(user.created, size="1", color_scheme="gray", white_space="nowrap")),
        rx.table.cell(_user_actions(user), text_align="right"),
        align="center",
    )


def create_user_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("user-plus", size=16), "Create account")),
        rx.dialog.content(
            rx.dialog.title("Create an account"),
            rx.dialog.description(
                "Works also while sign-up is closed. Give the person their password safely; "
                "they can change it on their profile.",
                size="2",
                color_scheme="gray",
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.vstack(
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
                    error_callout(AdminState.create_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button("Create account", type="submit", loading=AdminState.creating),
                        justify="end",
                        spacing="3",
                        width="100%",
                        margin_top="var(--space-2)",
                    ),
                    spacing="4",
                ),
                on_submit=AdminState.create_user,
                reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=AdminState.create_open,
        on_open_change=AdminState.set_create_open,
    )


def _users() -> rx.Component:
    return section(
        "Users",
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder="Search users by name or email",
            value=AdminState.search,
            on_change=AdminState.set_search,
            max_width="320px",
            width="100%",
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
        rx.cond(
            AdminState.problem != "",
            problem_page(
                "Administrators only",
                AdminState.problem,
                "Back to projects",
                "/projects",
                hint="Ask an administrator of this instance if you need something changed.",
            ),
            rx.cond(AdminState.loading, loading_block("Loading accounts…"), _content()),
        ),
    )
