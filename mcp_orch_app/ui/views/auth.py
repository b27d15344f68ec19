"""/login and /signup."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import error_callout, form_field, round_icon
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


def _form(title: str, text: str, *fields: rx.Component, error, submit: rx.Component, on_submit):
    """The login or sign-up form: a title over ``fields``, the refusal and the submit button."""
    return rx.form(
        rx.vstack(
            rx.vstack(
                rx.heading(title, size="6"),
                rx.text(text, color_scheme="gray", size="2"),
                spacing="1",
            ),
            *fields,
            error_callout(error),
            submit,
            spacing="4",
            width="100%",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
    )


def _submit(label: str, submitting, id_: str) -> rx.Component:
    return rx.button(label, type="submit", size="3", width="100%", loading=submitting, id=id_)


def _public_page(
    content: rx.Component, question: str, link_label: str, href: str, shown: rx.Var | bool = True
):
    """The card of the login or sign-up page, and the link to the other one under it (when
    ``shown``: the login page offers sign-up only while it is open)."""
    link = rx.text(
        question,
        rx.link(link_label, href=href, weight="medium"),
        size="2",
        color_scheme="gray",
        text_align="center",
        width="100%",
        id=f"{href.strip('/')}-link",
    )
    return public_shell(
        rx.card(content, size="4", width="100%"),
        link if shown is True else rx.cond(shown, link),
    )


def login_page() -> rx.Component:
    return _public_page(
        _form(
            "Log in",
            "Welcome back. Log in to manage your MCP servers.",
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
            error=LoginState.error,
            submit=_submit("Log in", LoginState.submitting, "login-submit"),
            on_submit=LoginState.login,
        ),
        "No account yet? ",
        "Sign up",
        "/signup",
        shown=LoginState.signup_open,
    )


def _signup_form() -> rx.Component:
    return _form(
        "Create your account",
        "The first account on a new instance becomes its administrator.",
        form_field("Name", _input("name", "Ada Lovelace", auto_complete="name", auto_focus=True)),
        form_field("Email", _input("email", "you@example.com", "email", auto_complete="email")),
        form_field(
            "Password",
            _input("password", "At least 10 characters", "password", auto_complete="new-password"),
        ),
        form_field(
            "Confirm password",
            _input("confirm", "Type it again", "password", auto_complete="new-password"),
        ),
        error=SignupState.error,
        submit=_submit("Create account", SignupState.submitting, "signup-submit"),
        on_submit=SignupState.signup,
    )


def _signup_closed() -> rx.Component:
    return rx.vstack(
        round_icon("lock", "amber", size=24, diameter="48px"),
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
    return _public_page(
        rx.cond(
            SignupState.checked,
            rx.cond(SignupState.signup_open, _signup_form(), _signup_closed()),
            rx.center(rx.spinner(size="3"), padding="var(--space-6)"),
        ),
        "Already have an account? ",
        "Log in",
        "/login",
    )


def home_page() -> rx.Component:
    """``/``: sends the browser on to the projects or the login page."""
    return rx.center(rx.spinner(size="3"), height="100vh")
