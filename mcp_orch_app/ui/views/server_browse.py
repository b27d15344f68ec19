"""The "Resources & prompts" tab of a server's page: the server's resources (read one), its
resource templates (fill in the parameters, read) and prompts (fill in the arguments, get),
with the answer beside them (see ui/states/server_browse.py)."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import error_callout, section
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.server_browse import (
    PromptArgument,
    PromptRow,
    ResourceRow,
    ServerBrowseState,
    TemplateRow,
)
from mcp_orch_app.ui.tool_form import MediaItem

CODE_FONT = "var(--code-font-family)"
S = ServerBrowseState


def _pre(text, **props) -> rx.Component:
    return rx.el.pre(
        text,
        white_space="pre-wrap",
        overflow_wrap="anywhere",
        font_family=CODE_FONT,
        font_size="12px",
        margin="0",
        padding="var(--space-3)",
        border_radius="var(--radius-3)",
        background=rx.color("gray", 2),
        border=f"1px solid {rx.color('gray', 5)}",
        max_height="360px",
        overflow="auto",
        width="100%",
        **props,
    )


def _item(title, subtitle, description, button: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.vstack(
                rx.text(
                    title, weight="bold", size="2", font_family=CODE_FONT, word_break="break-all"
                ),
                rx.cond(subtitle != "", rx.text(subtitle, size="1", color_scheme="gray")),
                rx.cond(description != "", rx.text(description, size="2", color_scheme="gray")),
                spacing="1",
                min_width="0",
                flex="1",
            ),
            rx.cond(ProjectFrameState.can_develop, button),
            align="start",
            width="100%",
        ),
        width="100%",
        **props,
    )


def _resource(row: ResourceRow) -> rx.Component:
    return _item(
        row.uri,
        row.name + rx.cond(row.mime_type != "", " · " + row.mime_type, ""),
        row.description,
        rx.button(
            rx.icon("book-open", size=14),
            "Read",
            size="1",
            variant="soft",
            loading=S.asking.contains(row.uri),
            on_click=S.read_resource(row.uri),
            class_name="resource-read",
        ),
        class_name="resource-card",
        custom_attrs={"data-uri": row.uri},
    )


def _template(row: TemplateRow) -> rx.Component:
    return _item(
        row.uri_template,
        row.name,
        row.description,
        rx.button(
            rx.icon("file-pen", size=14),
            "Fill in",
            size="1",
            variant=rx.cond(S.chosen == row.uri_template, "solid", "soft"),
            on_click=S.choose("template", row.uri_template),
            class_name="template-choose",
        ),
        class_name="template-card",
    )


def _prompt(row: PromptRow) -> rx.Component:
    return _item(
        row.name,
        rx.cond(
            row.arguments.length() > 0,
            row.arguments.length().to_string() + " argument(s)",
            "no arguments",
        ),
        row.description,
        rx.button(
            rx.icon("message-square", size=14),
            "Try it",
            size="1",
            variant=rx.cond(S.chosen == row.name, "solid", "soft"),
            on_click=S.choose("prompt", row.name),
            class_name="prompt-choose",
        ),
        class_name="prompt-card",
        custom_attrs={"data-prompt": row.name},
    )


def _list(title: str, icon: str, rows, render, empty: str, id: str) -> rx.Component:
    return section(
        title,
        rx.cond(
            rows.length() > 0,
            rx.vstack(rx.foreach(rows, render), spacing="2", width="100%"),
            rx.text(empty, size="2", color_scheme="gray"),
        ),
        icon=icon,
        id=id,
    )


def _variable_field(name) -> rx.Component:
    return rx.vstack(
        rx.text(name, as_="label", size="2", weight="medium", font_family=CODE_FONT),
        rx.input(name=name, width="100%", aria_label=name, max_length=2000),
        spacing="1",
        width="100%",
        class_name="browse-field",
    )


def _argument_field(argument: PromptArgument) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text(argument.name, as_="label", size="2", weight="medium", font_family=CODE_FONT),
            rx.cond(argument.required, rx.text("*", color=rx.color("red", 10), size="2")),
            spacing="1",
        ),
        rx.input(name=argument.name, width="100%", aria_label=argument.name, max_length=2000),
        rx.cond(
            argument.description != "",
            rx.text(argument.description, size="1", color_scheme="gray"),
        ),
        spacing="1",
        width="100%",
        class_name="browse-field",
    )


def _form(fields, on_submit, label: str) -> rx.Component:
    return rx.form(
        rx.vstack(
            fields,
            error_callout(S.form_error),
            rx.button(
                rx.icon("play", size=14),
                label,
                type="submit",
                loading=S.asking.contains(S.chosen),
                id="browse-run",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        key=S.chosen,
        width="100%",
    )


def _media(item: MediaItem) -> rx.Component:
    return rx.cond(
        item.kind == "image",
        rx.image(src=item.src, alt=item.label, max_width="100%", class_name="result-image"),
        rx.el.audio(src=item.src, controls=True, title=item.label, class_name="result-audio"),
    )


def _answer() -> rx.Component:
    return rx.cond(
        S.answer_title != "",
        rx.vstack(
            rx.hstack(
                rx.cond(
                    S.answer_is_error,
                    rx.badge("error", color_scheme="red"),
                    rx.badge("answered", color_scheme="green"),
                ),
                rx.code(S.answer_title, word_break="break-all"),
                spacing="2",
                align="center",
            ),
            _pre(
                S.answer_text,
                color=rx.cond(S.answer_is_error, rx.color("red", 11), rx.color("gray", 12)),
                id="browse-output",
            ),
            rx.foreach(S.answer_media, _media),
            rx.cond(
                S.answer_raw != "",
                rx.el.details(
                    rx.el.summary(rx.text("Full answer (JSON)", as_="span", size="1")),
                    _pre(S.answer_raw),
                ),
            ),
            spacing="2",
            width="100%",
            id="browse-answer",
        ),
    )


def _panel() -> rx.Component:
    return section(
        "Try it",
        rx.match(
            S.chosen_kind,
            (
                "template",
                rx.vstack(
                    rx.text("Fill in ", rx.code(S.chosen), " and read it:", size="2"),
                    _form(rx.foreach(S.chosen_variables, _variable_field), S.read_template, "Read"),
                    spacing="3",
                    width="100%",
                ),
            ),
            (
                "prompt",
                rx.vstack(
                    rx.text("Get the prompt ", rx.code(S.chosen), ":", size="2"),
                    _form(rx.foreach(S.chosen_arguments, _argument_field), S.get_prompt, "Get"),
                    spacing="3",
                    width="100%",
                ),
            ),
            rx.text(
                "Read a resource, fill in a template or try a prompt; the server is asked for "
                "real and the request is in the server log.",
                size="2",
                color_scheme="gray",
            ),
        ),
        _answer(),
        icon="flask-conical",
        id="browse-panel",
    )


def browse_tab() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text(
                "What the server offers besides tools, listed live from the server.",
                size="2",
                color_scheme="gray",
            ),
            rx.spacer(),
            rx.button(
                rx.icon("refresh-cw", size=14),
                "Reload",
                size="1",
                variant="soft",
                color_scheme="gray",
                loading=S.browse_loading,
                on_click=S.load_browse,
                id="browse-reload",
            ),
            width="100%",
            align="center",
            margin_bottom="var(--space-3)",
        ),
        rx.cond(
            S.browse_problem != "",
            rx.callout(S.browse_problem, icon="triangle-alert", color_scheme="orange", size="1"),
        ),
        rx.cond(
            S.browse_loaded,
            rx.grid(
                rx.vstack(
                    _list(
                        "Resources",
                        "file-text",
                        S.resources,
                        _resource,
                        "The server lists no resources.",
                        "browse-resources",
                    ),
                    _list(
                        "Resource templates",
                        "file-pen",
                        S.templates,
                        _template,
                        "The server lists no resource templates.",
                        "browse-templates",
                    ),
                    _list(
                        "Prompts",
                        "message-square",
                        S.prompts,
                        _prompt,
                        "The server lists no prompts.",
                        "browse-prompts",
                    ),
                    spacing="4",
                    width="100%",
                ),
                rx.cond(ProjectFrameState.can_develop, _panel()),
                columns=rx.breakpoints(initial="1", lg="2"),
                spacing="4",
                align_items="start",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding="var(--space-6)"),
        ),
        on_mount=[S.clear_browse, S.load_browse],
        width="100%",
        id="server-browse",
    )
