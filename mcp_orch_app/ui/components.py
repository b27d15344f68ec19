"""Building blocks shared by the pages: headers, badges, tables, empty and loading states."""

from __future__ import annotations

import reflex as rx

ROLES = ["owner", "developer", "reporter"]
# Text kept on one line, cut with an ellipsis when its box is too narrow.
ONE_LINE = {"white_space": "nowrap", "overflow": "hidden", "text_overflow": "ellipsis"}
STATUS_COLORS = {
    "online": "green",
    "offline": "orange",
    "error": "red",
    "disabled": "gray",
    "unknown": "gray",
}
STATUS_ICONS = {
    "online": "circle-check",
    "offline": "circle-pause",
    "error": "circle-x",
    "disabled": "ban",
    "unknown": "circle-dashed",
}

# A tool call's outcome: success green, error red, timeout orange, cancelled gray.
CALL_STATUS_COLORS = {
    "success": "green",
    "error": "red",
    "timeout": "orange",
    "cancelled": "gray",
}


def page_header(title, subtitle=None, *actions: rx.Component, badge=None) -> rx.Component:
    return rx.flex(
        rx.vstack(
            rx.hstack(
                rx.heading(title, size="7", weight="bold", trim="both"),
                badge if badge is not None else rx.fragment(),
                align="center",
                spacing="3",
            ),
            rx.text(subtitle, color_scheme="gray", size="3") if subtitle is not None else None,
            spacing="2",
            min_width="0",
        ),
        rx.hstack(*actions, spacing="2", align="center") if actions else rx.fragment(),
        justify="between",
        align="start",
        spacing="4",
        wrap="wrap",
        width="100%",
        margin_bottom="var(--space-6)",
    )


def breadcrumbs(*parts: tuple[str, str | None]) -> rx.Component:
    """``("Projects", "/projects"), (name, None)``: links, then the current page."""
    items: list[rx.Component] = []
    for index, (label, href) in enumerate(parts):
        if index:
            items.append(rx.icon("chevron-right", size=14, color=rx.color("gray", 9)))
        items.append(
            rx.link(label, href=href, size="2", color_scheme="gray", underline="hover")
            if href
            else rx.text(label, size="2", color_scheme="gray", weight="medium", trim="both")
        )
    return rx.hstack(*items, align="center", spacing="1", margin_bottom="var(--space-3)")


def item_header(parent_label: str, parent_href: str, item) -> rx.Component:
    """Breadcrumbs and header of one project or team (``item``: its row): name, description
    and the user's role in it."""
    return rx.fragment(
        breadcrumbs((parent_label, parent_href), (item.name, None)),
        page_header(
            item.name,
            rx.cond(item.description != "", item.description, "No description."),
            badge=rx.hstack(
                rx.text("You are", size="2", color_scheme="gray"),
                role_badge(item.role),
                align="center",
                spacing="2",
            ),
        ),
    )


def role_badge(role) -> rx.Component:
    return rx.match(
        role,
        ("owner", rx.badge(rx.icon("crown", size=12), "owner", color_scheme="violet")),
        ("developer", rx.badge(rx.icon("wrench", size=12), "developer", color_scheme="blue")),
        ("reporter", rx.badge(rx.icon("eye", size=12), "reporter", color_scheme="gray")),
        rx.badge(role, color_scheme="gray"),
    )


def status_badge(status) -> rx.Component:
    return rx.match(
        status,
        *[
            (
                name,
                rx.badge(
                    rx.icon(STATUS_ICONS[name], size=12),
                    name,
                    color_scheme=STATUS_COLORS[name],
                    variant="soft",
                    # The soft colours alone miss the 4.5:1 text contrast (axe-core).
                    high_contrast=True,
                ),
            )
            for name in STATUS_COLORS
        ],
        rx.badge(status, color_scheme="gray"),
    )


def checking_badge(**props) -> rx.Component:
    """Shown instead of a server's status while a live check of it runs."""
    return rx.badge(rx.spinner(size="1"), "checking…", color_scheme="blue", variant="soft", **props)


def status_with_error(status, error) -> rx.Component:
    """A server's status badge; its last error shows on hover when there is one."""
    badge = status_badge(status)
    return rx.cond(error != "", rx.box(badge, cursor="help", title=error), badge)


def colored_badge(value, colors: dict[str, str]) -> rx.Component:
    """``value`` in a badge of its colour in ``colors`` (gray for any other value)."""
    return rx.match(
        value,
        *[
            (name, rx.badge(name, color_scheme=color, variant="soft"))
            for name, color in colors.items()
        ],
        rx.badge(value, color_scheme="gray"),
    )


def call_status_badge(status) -> rx.Component:
    """A tool call's status in its colour."""
    return colored_badge(status, CALL_STATUS_COLORS)


def copy_button(text, label: str = "Copy", **props) -> rx.Component:
    """Puts ``text`` on the clipboard and says so."""
    return rx.tooltip(
        rx.icon_button(
            rx.icon("copy", size=14),
            variant="soft",
            color_scheme="gray",
            size="1",
            on_click=[rx.set_clipboard(text), rx.toast.success("Copied to the clipboard.")],
            aria_label=label,
            **props,
        ),
        content=label,
    )


def copyable(text, **props) -> rx.Component:
    """A value to paste elsewhere (a URL, a key): in code type, with its copy button."""
    return rx.hstack(
        rx.code(
            text,
            size="2",
            variant="soft",
            display="block",
            flex="1",
            min_width="0",
            title=text,
            style=ONE_LINE,
            **props,
        ),
        copy_button(text),
        align="center",
        spacing="2",
        width="100%",
    )


def status_dot(status) -> rx.Component:
    return rx.box(
        width="8px",
        height="8px",
        border_radius="50%",
        flex_shrink="0",
        background=rx.match(
            status,
            *[(name, rx.color(color, 9)) for name, color in STATUS_COLORS.items()],
            rx.color("gray", 9),
        ),
    )


def section(title: str, *children, icon: str | None = None, actions=None, **props) -> rx.Component:
    """A titled card: the unit every page is built from."""
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.hstack(
                    rx.icon(icon, size=18, color=rx.color("accent", 10)) if icon else None,
                    rx.heading(title, size="4", weight="medium"),
                    align="center",
                    spacing="2",
                ),
                actions if actions is not None else rx.fragment(),
                justify="between",
                align="center",
                width="100%",
            ),
            *children,
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
        **props,
    )


def round_icon(
    icon: str, color: str = "accent", size: int = 26, diameter: str = "56px", **props
) -> rx.Component:
    """An icon on a tinted disc, heading empty states, refusals and feed entries."""
    return rx.center(
        rx.icon(icon, size=size, color=rx.color(color, 11)),
        width=diameter,
        height=diameter,
        border_radius="50%",
        background=rx.color(color, 3),
        **props,
    )


def figure_card(label: str, value, icon: str, color: str, id: str, note=None) -> rx.Component:
    """One headline figure (a count, a rate, a duration) on a card, as the metrics and
    dashboard pages show them."""
    return rx.card(
        rx.hstack(
            round_icon(icon, color, size=18, diameter="40px"),
            rx.vstack(
                rx.text(label, size="2", color_scheme="gray"),
                rx.text(value, size="6", weight="bold", id=id),
                rx.text(note, size="1", color_scheme="gray") if note is not None else None,
                spacing="1",
            ),
            align="center",
            spacing="3",
        ),
        size="2",
    )


def empty_state(icon: str, title: str, text, *actions: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            round_icon(icon),
            rx.heading(title, size="4", weight="medium"),
            rx.text(text, color_scheme="gray", size="2", text_align="center", max_width="420px"),
            *actions,
            align="center",
            spacing="3",
        ),
        padding_y="var(--space-8)",
        width="100%",
    )


def loading_block(label: str = "Loading…") -> rx.Component:
    return rx.center(
        rx.hstack(
            rx.spinner(size="3"),
            rx.text(label, color_scheme="gray", size="2"),
            align="center",
            spacing="3",
        ),
        padding_y="var(--space-9)",
        width="100%",
    )


def list_or_empty(items, loading, loading_label: str, content, empty) -> rx.Component:
    """A list page's body: a spinner during the first load, then ``content``, or ``empty``
    while there are no ``items``."""
    return rx.cond(
        loading & (items.length() == 0),
        loading_block(loading_label),
        rx.cond(items.length() > 0, content, empty),
    )


def create_first(icon: str, title: str, text: str, label: str, on_click) -> rx.Component:
    """What a list page shows while it is empty: a card with a button to create the first."""
    return rx.card(
        empty_state(
            icon,
            title,
            text,
            rx.button(rx.icon("plus", size=16), label, variant="soft", on_click=on_click),
        ),
        size="3",
    )


def once_loaded(problem, refusal: rx.Component, loading, loading_label: str, content):
    """A page of one thing: ``refusal`` when the services said no (``problem``), a spinner
    while it loads, then ``content``."""
    return rx.cond(
        problem != "",
        refusal,
        rx.cond(loading, loading_block(loading_label), content),
    )


def problem_page(
    title: str,
    message,
    back_label: str,
    back_href: str,
    hint: str = "If you think you should have access, ask one of its owners to add you.",
) -> rx.Component:
    """What a page shows instead of data the user may not see (not a member, not found)."""
    return rx.center(
        rx.card(
            rx.vstack(
                round_icon("lock", "amber"),
                rx.heading(title, size="5"),
                rx.text(message, color_scheme="gray", text_align="center", id="problem-message"),
                rx.text(
                    hint,
                    color_scheme="gray",
                    size="2",
                    text_align="center",
                ),
                rx.link(
                    rx.button(rx.icon("arrow-left", size=16), back_label, variant="soft"),
                    href=back_href,
                ),
                align="center",
                spacing="3",
                padding="var(--space-4)",
            ),
            size="3",
            max_width="480px",
            width="100%",
        ),
        padding_top="10vh",
        width="100%",
    )


def form_field(label: str, control: rx.Component, hint: str | None = None) -> rx.Component:
    # The <label> wraps its control: that names the control for screen readers, whatever id
    # it has.
    return rx.vstack(
        rx.el.label(
            rx.text(label, as_="span", size="2", weight="medium"),
            control,
            display="flex",
            flex_direction="column",
            gap="var(--space-1)",
            width="100%",
        ),
        rx.text(hint, size="1", color_scheme="gray") if hint else None,
        spacing="1",
        width="100%",
    )


def name_and_description_fields(
    name_id: str,
    name_placeholder: str,
    description_placeholder: str,
    description_id: str | None = None,
) -> tuple[rx.Component, rx.Component]:
    """The Name and Description fields of a new project or team (the services' length limits)."""
    description_props = {"id": description_id} if description_id else {}
    return (
        form_field(
            "Name",
            rx.input(
                name="name",
                id=name_id,
                placeholder=name_placeholder,
                max_length=100,
                auto_focus=True,
                width="100%",
            ),
        ),
        form_field(
            "Description",
            rx.text_area(
                name="description",
                **description_props,
                placeholder=description_placeholder,
                max_length=1000,
                rows="3",
                width="100%",
            ),
        ),
    )


def switch_row(description: rx.Component, saving, switch: rx.Component) -> rx.Component:
    """A setting: its description, and its switch on the right (a spinner while ``saving``)."""
    return rx.flex(
        description,
        rx.hstack(
            rx.cond(saving, rx.spinner(size="2")),
            switch,
            align="center",
            spacing="3",
        ),
        justify="between",
        align="center",
        spacing="4",
        width="100%",
    )


def error_callout(message) -> rx.Component:
    """An inline error under a form; hidden while ``message`` is empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="circle-alert", color_scheme="red", size="1", width="100%"),
    )


def header_cell(label: str, **props) -> rx.Component:
    return rx.table.column_header_cell(label, white_space="nowrap", **props)


def data_table(headers: list[str], body: rx.Component, **props) -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*[header_cell(h) for h in headers])),
        rx.table.body(body),
        variant="surface",
        size="2",
        width="100%",
        **props,
    )


def filter_select(
    label: str, value, on_change, all_label: str, options, *, disabled=False, **props
) -> rx.Component:
    """A list filter: "all" (``all_label``, value ``all``) or one of ``options`` (a list var
    of rows with ``value`` and ``label``, or a list of them)."""

    def option(choice) -> rx.Component:
        return rx.select.item(choice.label, value=choice.value)

    if isinstance(options, rx.Var):
        listed = rx.foreach(options, option)
    else:
        listed = rx.fragment(*map(option, options))
    return rx.select.root(
        rx.select.trigger(min_width="160px", aria_label=label, **props),
        rx.select.content(rx.select.item(all_label, value="all"), rx.select.separator(), listed),
        value=value,
        on_change=on_change,
        disabled=disabled,
    )


def server_and_tool(server_name, tool_name, **props) -> rx.Component:
    """``server · tool``, the server dimmed, in code type."""
    return rx.text(
        rx.text.span(server_name, color=rx.color("gray", 10)),
        " · ",
        rx.text.span(tool_name, weight="medium"),
        size="2",
        font_family="var(--code-font-family)",
        **props,
    )


def refresh_button(loading, on_click, **props) -> rx.Component:
    """Reads a page's data again; spins while it does."""
    return rx.button(
        rx.icon("refresh-cw", size=14),
        "Refresh",
        variant="soft",
        color_scheme="gray",
        loading=loading,
        on_click=on_click,
        **props,
    )


def load_more_button(loading, on_click, **props) -> rx.Component:
    """The button under a list that appends its next page."""
    return rx.button(
        "Load more",
        variant="soft",
        color_scheme="gray",
        loading=loading,
        on_click=on_click,
        align_self="center",
        **props,
    )


def search_input(placeholder: str, value, on_change, **props) -> rx.Component:
    return rx.input(
        rx.input.slot(rx.icon("search", size=16)),
        placeholder=placeholder,
        value=value,
        on_change=on_change,
        width="100%",
        **props,
    )


def with_description(title: rx.Component, description, max_width: str = "460px"):
    """A table cell's name over its description (the description only when there is one)."""
    return rx.vstack(
        title,
        rx.cond(
            description != "",
            rx.text(description, size="1", color_scheme="gray", style=ONE_LINE),
        ),
        spacing="1",
        max_width=max_width,
    )


def icon_count(icon: str, count) -> rx.Component:
    return rx.hstack(rx.icon(icon, size=14), rx.text(count), align="center")


def date_text(value) -> rx.Component:
    """A date in a table, written small."""
    return rx.text(value, size="1", color_scheme="gray", white_space="nowrap")


def time_ago(text, exact) -> rx.Component:
    """A relative time (``5 minutes ago``) with the exact time in its (native) tooltip: tables
    show one per row, and a tooltip component per row makes long tables slow to draw."""
    return rx.text(text, size="2", color_scheme="gray", white_space="nowrap", title=exact)


def person(name, email) -> rx.Component:
    return rx.hstack(
        rx.avatar(fallback=name.to(str)[:1].upper(), size="2", radius="full", variant="soft"),
        rx.vstack(
            rx.text(name, weight="medium", size="2", style=ONE_LINE),
            rx.text(email, color_scheme="gray", size="1", style=ONE_LINE),
            spacing="1",
            min_width="0",
        ),
        align="center",
        spacing="3",
    )


def activity_feed(rows, empty_text: str) -> rx.Component:
    """A feed of activity rows (``ActivityRow``), newest first."""
    return rx.cond(
        rows.length() > 0,
        rx.vstack(
            rx.foreach(
                rows,
                lambda row: rx.hstack(
                    round_icon("history", size=14, diameter="28px", flex_shrink="0"),
                    rx.vstack(
                        rx.text(row.description, size="2"),
                        rx.tooltip(
                            rx.text(row.when, size="1", color_scheme="gray", white_space="nowrap"),
                            content=row.when_at,
                        ),
                        spacing="1",
                        min_width="0",
                    ),
                    align="start",
                    spacing="3",
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        rx.text(empty_text, color_scheme="gray", size="2"),
    )
