"""The time range picker of the tool-call pages: a select of ranges, and for a custom range
a from/until form in UTC (see :mod:`mcp_orch_app.ui.states.time_range`)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import error_callout
from mcp_orch_app.ui.states.rows import Choice
from mcp_orch_app.ui.states.time_range import RANGE_CHOICES


def _option(choice: Choice) -> rx.Component:
    return rx.select.item(choice.label, value=choice.value)


def _custom_form(state, disabled) -> rx.Component:
    def moment_input(name: str, label: str, value) -> rx.Component:
        return rx.hstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.input(
                type="datetime-local",
                name=name,
                default_value=value,
                id=f"range-{name}",
                size="2",
            ),
            align="center",
            spacing="2",
        )

    return rx.form(
        rx.hstack(
            moment_input("since", "From", state.custom_since),
            moment_input("until", "until", state.custom_until),
            rx.button(
                "Apply",
                type="submit",
                variant="soft",
                size="2",
                disabled=disabled,
                id="range-apply",
            ),
            align="center",
            spacing="3",
            wrap="wrap",
        ),
        on_submit=state.apply_custom_range,
        reset_on_submit=False,
    )


def range_select(state, disabled=False) -> rx.Component:
    """The range select of ``state`` (a ``TimeRangeMixin`` page state), for a filter row."""
    return rx.hstack(
        rx.icon("clock", size=16, color=rx.color("gray", 10)),
        rx.select.root(
            rx.select.trigger(min_width="190px", aria_label="Time range", id="time-range"),
            rx.select.content(*[_option(choice) for choice in RANGE_CHOICES]),
            value=state.range_key,
            on_change=state.choose_range,
            disabled=disabled,
        ),
        align="center",
        spacing="2",
    )


def custom_range_form(state, disabled=False) -> rx.Component:
    """The custom range's from/until form and what was wrong with it, on a row of its own
    under the filters (inline it pushed the other filters around)."""
    return rx.cond(
        state.custom_range | (state.range_problem != ""),
        rx.vstack(
            rx.cond(state.custom_range, _custom_form(state, disabled)),
            error_callout(state.range_problem),
            spacing="2",
            width="100%",
            id="custom-range",
        ),
    )


def range_picker(state, disabled=False) -> rx.Component:
    """The range select and, while the custom range is chosen, its form below it."""
    return rx.vstack(
        range_select(state, disabled),
        custom_range_form(state, disabled),
        spacing="2",
    )
