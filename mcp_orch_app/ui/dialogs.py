"""The two dialogs the pages use: a form that creates or adds something, and a confirmation."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import error_callout


def form_dialog(
    trigger: rx.Component,
    title: str,
    description: str,
    *fields: rx.Component,
    error,
    submit_label: str,
    submitting,
    on_submit,
    is_open,
    on_open_change,
    max_width: str = "440px",
    submit_id: str | None = None,
) -> rx.Component:
    """A dialog with a form: ``fields``, the refusal ``error`` under them, Cancel and submit.

    The state opens and closes it (``is_open``, ``on_open_change``); the form keeps what was
    typed when the submission is refused.
    """
    submit_props = {"id": submit_id} if submit_id else {}
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(
            rx.dialog.title(title),
            rx.dialog.description(
                description,
                size="2",
                color_scheme="gray",
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.vstack(
                    *fields,
                    error_callout(error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button(submit_label, type="submit", loading=submitting, **submit_props),
                        justify="end",
                        spacing="3",
                        width="100%",
                        margin_top="var(--space-2)",
                    ),
                    spacing="4",
                ),
                on_submit=on_submit,
                reset_on_submit=False,
            ),
            max_width=max_width,
        ),
        open=is_open,
        on_open_change=on_open_change,
    )


def _confirm_content(
    title, description: str, confirm_label, on_confirm, on_cancel=None, **props
) -> rx.Component:
    cancel = {"on_click": on_cancel} if on_cancel is not None else {}
    return rx.alert_dialog.content(
        rx.alert_dialog.title(title),
        rx.alert_dialog.description(description, size="2"),
        rx.hstack(
            rx.alert_dialog.cancel(
                rx.button("Cancel", variant="soft", color_scheme="gray", **cancel)
            ),
            rx.alert_dialog.action(
                rx.button(confirm_label, color_scheme="red", on_click=on_confirm)
            ),
            justify="end",
            spacing="3",
            margin_top="var(--space-4)",
        ),
        max_width="420px",
        **props,
    )


def confirm_dialog(
    trigger: rx.Component, title, description: str, confirm_label, on_confirm
) -> rx.Component:
    """Asks before something that cannot be undone; the red button does it."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        _confirm_content(title, description, confirm_label, on_confirm),
    )


def confirm_dialog_for(
    open_, title, description: str, confirm_label, on_confirm, on_cancel
) -> rx.Component:
    """``confirm_dialog`` opened by state (``open_``) instead of a trigger: one dialog for a
    whole table, rather than one per row."""
    return rx.alert_dialog.root(
        _confirm_content(
            title, description, confirm_label, on_confirm, on_cancel, on_escape_key_down=on_cancel
        ),
        open=open_,
    )


def notice_dialog(trigger: rx.Component, title, description: str, **props) -> rx.Component:
    """Says why something cannot be done, before anyone confirms it; one button closes it."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Close", variant="soft", color_scheme="gray")),
                justify="end",
                margin_top="var(--space-4)",
            ),
            max_width="420px",
            **props,
        ),
    )
