"""/login and /signup."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import error_callout, form_field
from mcp_orch_app.ui.layout import public_shell
from mcp_orch_app.ui.states.login import LoginState
from mcp_orch_app.ui.states.signup import SignupState


def _input(name: str, placeholder: str, type_: str = "text", **props) -> rx.Component:
    return rx.input(
        name=name,
        id=name,
        placeholder=placeholder,
        type=type_,
        size="3",
        width="100%",
        **props,
    )


def login_page() -> rx.Component:
    return public_shell(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.vstack(
                        rx.heading("Log in", size="6"),
                        rx.text(
                            "Welcome back. Log in to manage your MCP servers.",
                            color_scheme="gray",
                            size="2",
                        ),
                        spacing="1",
                    ),
                    form_field(
                        "Email",
                        _input(
                            "email",
                            "you@example.com",
                            "email",
                            auto_complete="username",
                            auto_focus=True,
                        ),
                    ),
                    form_field(
                        "Password",
                        _input(
                            "password",
                            "Your password",
                            "password",
                            auto_complete="current-password",
                        ),
                    ),
                    error_callout(LoginState.error),
                    rx.button(
                        "Log in",
                        type="submit",
                        size="3",
                        width="100%",
                        loading=LoginState.submitting,
                        id="login-submit",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=LoginState.login,
                reset_on_submit=False,
            ),
            size="4",
            width="100%",
        ),
        rx.text(
            "No account yet? ",
            rx.link("Sign up", href="/signup", weight="medium"),
            size="2",
            color_scheme="gray",
            text_align="center",
            width="100%",
        ),
    )


def _signup_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.vstack(
                rx.heading("Create your account", size="6"),
                rx.text(
                    "The first account on a new instance becomes its administrator.",
                    color_scheme="gray",
                    size="2",
                ),
                spacing="1",
            ),
            form_field(
                "Name", _input("name", "Ada Lovelace", auto_complete="name", auto_focus=True)
            ),
            form_field("Email", _input("email", "you@example.com", "email", auto_complete="email")),
            form_field(
                "Password",
                _input(
                    "password", "At least 8 characters", "password", auto_complete="new-password"
                ),
            ),
            form_field(
                "Confirm password",
                _input("confirm", "Type it again", "password", auto_complete="new-password"),
            ),
            error_callout(SignupState.error),
            rx.button(
                "Create account",
                type="submit",
                size="3",
                width="100%",
                loading=SignupState.submitting,
                id="signup-submit",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=SignupState.signup,
        reset_on_submit=False,
    )


def _signup_closed() -> rx.Component:
    return rx.vstack(
        rx.center(
            rx.icon("lock", size=24, color=rx.color("amber", 11)),
            width="48px",
            height="48px",
            border_radius="50%",
            background=rx.color("amber", 3),
        ),
        rx.heading("Sign-up is closed", size="5"),
        rx.text(
            "An administrator has closed sign-up on this instance. "
            "Ask an administrator to create an account for you.",
            color_scheme="gray",
            size="2",
            text_align="center",
        ),
        rx.link(rx.button("Go to log in", variant="soft", size="3"), href="/login"),
        align="center",
        spacing="3",
        id="signup-closed",
    )


def signup_page() -> rx.Component:
    return public_shell(
        rx.card(
            rx.cond(
                SignupState.checked,
                rx.cond(SignupState.signup_open, _signup_form(), _signup_closed()),
                rx.center(rx.spinner(size="3"), padding="var(--space-6)"),
            ),
            size="4",
            width="100%",
        ),
        rx.text(
            "Already have an account? ",
            rx.link("Log in", href="/login", weight="medium"),
            size="2",
            color_scheme="gray",
            text_align="center",
            width="100%",
        ),
    )


def home_page() -> rx.Component:
    """``/``: sends the browser on to the projects or the login page."""
    return rx.center(rx.spinner(size="3"), height="100vh")
