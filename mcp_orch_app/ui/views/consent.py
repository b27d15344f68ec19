"""/oauth/consent: connect an MCP client (OAuth) to one endpoint of a project."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import error_callout
from mcp_orch_app.ui.layout import public_shell
from mcp_orch_app.ui.states.consent import ConsentState


def consent_page() -> rx.Component:
    form = rx.vstack(
        rx.heading("Connect an application", size="6"),
        rx.text(
            rx.text.strong(ConsentState.client_name, id="consent-client-name"),
            " wants to use MCP servers of mcp-orch as ",
            rx.text.strong(ConsentState.user_email),
            ".",
            size="2",
        ),
        rx.text("Its answer goes to:", size="2", color_scheme="gray"),
        rx.code(ConsentState.redirect_uri, id="consent-redirect-uri", word_break="break-all"),
        rx.cond(
            ConsentState.choices.length() > 0,
            rx.vstack(
                rx.text("Give it access to", size="2", weight="medium"),
                rx.select(
                    ConsentState.choices,
                    value=ConsentState.choice,
                    on_change=ConsentState.pick,
                    width="100%",
                    id="consent-endpoint",
                ),
                rx.text(
                    "It acts with your role in the project, until you or an owner disconnect it.",
                    size="1",
                    color_scheme="gray",
                ),
                width="100%",
                spacing="2",
            ),
        ),
        error_callout(ConsentState.problem),
        rx.hstack(
            rx.button(
                "Deny",
                variant="soft",
                color_scheme="gray",
                on_click=ConsentState.deny,
                loading=ConsentState.answering,
                id="consent-deny",
            ),
            rx.button(
                "Allow",
                on_click=ConsentState.approve,
                loading=ConsentState.answering,
                disabled=ConsentState.choices.length() == 0,
                id="consent-allow",
            ),
            justify="end",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
    return public_shell(
        rx.card(
            rx.cond(ConsentState.loaded, form, rx.center(rx.spinner(), padding="6")),
            size="4",
            width="100%",
        )
    )
