"""The app shell: the sidebar around logged-in pages, and the gate that keeps them blank
until the login token has been checked on the server."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from mcp_orch_app.ui.components import ONE_LINE
from mcp_orch_app.ui.states.auth import AuthState

SIDEBAR_WIDTH = "248px"

# (label, icon, route); the Admin link is added for administrators only.
NAV_ITEMS = [
    ("Dashboard", "layout-dashboard", "/dashboard"),
    ("Projects", "folder-kanban", "/projects"),
    ("Teams", "users", "/teams"),
]
ADMIN_ITEM = ("Admin", "shield", "/admin")
PROFILE_ITEM = ("Profile", "user-cog", "/profile")


def brand() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.center(
                rx.icon("network", size=18, color="white"),
                width="32px",
                height="32px",
                border_radius="8px",
                background=rx.color("accent", 9),
            ),
            rx.text("mcp-orch", size="4", weight="bold", color=rx.color("gray", 12)),
            align="center",
            spacing="2",
        ),
        href="/projects",
        underline="none",
    )


def _is_active(route: str):
    path = AuthState.router.url.path
    return (path == route) | path.startswith(route + "/")


def nav_item(label: str, icon: str, route: str) -> rx.Component:
    active = _is_active(route)
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=18),
            rx.text(label, size="2", weight="medium"),
            align="center",
            spacing="3",
            padding_x="var(--space-3)",
            padding_y="var(--space-2)",
            border_radius="var(--radius-3)",
            width="100%",
            color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
            background=rx.cond(active, rx.color("accent", 3), "transparent"),
            _hover={"background": rx.color("gray", 3), "color": rx.color("gray", 12)},
        ),
        href=route,
        underline="none",
        width="100%",
        data_testid=f"nav-{label.lower()}",
    )


def user_card() -> rx.Component:
    return rx.hstack(
        rx.avatar(
            fallback=AuthState.user_name[:1].upper(),
            size="2",
            radius="full",
            variant="solid",
        ),
        rx.vstack(
            rx.text(AuthState.user_name, size="2", weight="medium", style=ONE_LINE),
            rx.text(
                AuthState.user_email,
                size="1",
                color_scheme="gray",
                style=ONE_LINE,
                max_width="100%",
            ),
            spacing="0",
            min_width="0",
            flex="1",
            overflow="hidden",
        ),
        align="center",
        spacing="3",
        width="100%",
        id="current-user",
    )


def logout_button(**props) -> rx.Component:
    return rx.button(
        rx.icon("log-out", size=16),
        "Log out",
        on_click=AuthState.logout,
        variant="soft",
        color_scheme="gray",
        id="logout",
        **props,
    )


def sidebar() -> rx.Component:
    # The outer box stretches to the page's full height and carries the background and the
    # border; the inner column stays in view (sticky) while a long page scrolls.
    return rx.box(
        _sidebar_column(),
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        display=["none", "none", "block"],
        align_self="stretch",
        id="sidebar",
    )


def _sidebar_column() -> rx.Component:
    return rx.flex(
        rx.box(brand(), padding_x="var(--space-2)", padding_bottom="var(--space-5)"),
        rx.vstack(
            *[nav_item(*item) for item in NAV_ITEMS],
            rx.cond(AuthState.is_admin, nav_item(*ADMIN_ITEM)),
            nav_item(*PROFILE_ITEM),
            spacing="1",
            width="100%",
        ),
        rx.spacer(),
        rx.vstack(
            rx.separator(),
            user_card(),
            rx.hstack(
                logout_button(flex="1"),
                rx.tooltip(
                    rx.color_mode.button(
                        variant="soft", id="color-mode", aria_label="Light or dark mode"
                    ),
                    content="Light or dark",
                ),
                spacing="2",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        direction="column",
        width="100%",
        height="100vh",
        position="sticky",
        top="0",
        padding="var(--space-4)",
    )


def mobile_bar() -> rx.Component:
    """The sidebar's links in a menu, on screens too narrow for the sidebar."""
    links = [*NAV_ITEMS, PROFILE_ITEM]
    return rx.flex(
        brand(),
        rx.menu.root(
            rx.menu.trigger(rx.icon_button(rx.icon("menu"), variant="soft", color_scheme="gray")),
            rx.menu.content(
                rx.box(
                    rx.text(AuthState.user_email, size="1", color_scheme="gray"),
                    padding_x="var(--space-2)",
                    padding_y="var(--space-1)",
                ),
                *[rx.menu.item(label, on_click=rx.redirect(route)) for label, _, route in links],
                rx.cond(
                    AuthState.is_admin,
                    rx.menu.item("Admin", on_click=rx.redirect(ADMIN_ITEM[2])),
                ),
                rx.menu.separator(),
                rx.menu.item("Log out", color_scheme="red", on_click=AuthState.logout),
            ),
        ),
        justify="between",
        align="center",
        padding="var(--space-3)",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
        display=["flex", "flex", "none"],
        position="sticky",
        top="0",
        z_index="10",
    )


def checking_session() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.spinner(size="3"),
            rx.text("Checking your session…", color_scheme="gray", size="2"),
            align="center",
            spacing="3",
        ),
        height="100vh",
        width="100%",
        id="checking-session",
    )


def app_shell(content: rx.Component) -> rx.Component:
    return rx.flex(
        sidebar(),
        rx.box(
            mobile_bar(),
            rx.box(
                content,
                padding_x=["var(--space-4)", "var(--space-5)", "var(--space-8)"],
                padding_y=["var(--space-5)", "var(--space-6)", "var(--space-8)"],
                max_width="1200px",
                margin_x="auto",
                width="100%",
            ),
            flex="1",
            min_width="0",
        ),
        width="100%",
        min_height="100vh",
    )


def protected(render: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """A page that draws nothing private until the server has accepted the login token.

    ``authenticated`` has no setter a browser could call, and the data itself is only loaded
    by handlers that check the token again: flipping the flag in a browser shows an empty shell.
    """

    def page() -> rx.Component:
        return rx.cond(AuthState.authenticated, app_shell(render()), checking_session())

    page.__name__ = render.__name__
    return page


def public_shell(*children: rx.Component) -> rx.Component:
    """The frame of the login and sign-up pages: a centred card."""
    return rx.box(
        rx.box(
            rx.color_mode.button(variant="ghost", aria_label="Light or dark mode"),
            position="absolute",
            top="var(--space-4)",
            right="var(--space-4)",
        ),
        rx.center(
            rx.vstack(
                rx.center(brand(), width="100%"),
                *children,
                spacing="6",
                width="100%",
                max_width="400px",
            ),
            min_height="100vh",
            padding="var(--space-4)",
        ),
        background=rx.color("gray", 2),
        position="relative",
    )
