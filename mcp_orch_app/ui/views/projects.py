"""/projects: my projects, search, and the "New project" dialog."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    ONE_LINE,
    data_table,
    empty_state,
    error_callout,
    form_field,
    loading_block,
    page_header,
    role_badge,
)
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.projects import ProjectsState
from mcp_orch_app.ui.states.rows import ProjectRow


def new_project_dialog(trigger: rx.Component) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(trigger),
        rx.dialog.content(
            rx.dialog.title("New project"),
            rx.dialog.description(
                "A project groups MCP servers, the people who use them and their API keys. "
                "You become its owner.",
                size="2",
                color_scheme="gray",
                margin_bottom="var(--space-4)",
            ),
            rx.form(
                rx.vstack(
                    form_field(
                        "Name",
                        rx.input(
                            name="name",
                            id="project-name",
                            placeholder="e.g. Payments platform",
                            max_length=100,
                            auto_focus=True,
                            width="100%",
                        ),
                    ),
                    form_field(
                        "Description",
                        rx.text_area(
                            name="description",
                            id="project-description",
                            placeholder="What is this project for? (optional)",
                            max_length=1000,
                            rows="3",
                            width="100%",
                        ),
                    ),
                    error_callout(ProjectsState.create_error),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", type="button", variant="soft", color_scheme="gray")
                        ),
                        rx.button(
                            "Create project",
                            type="submit",
                            loading=ProjectsState.creating,
                            id="project-create-submit",
                        ),
                        justify="end",
                        spacing="3",
                        width="100%",
                        margin_top="var(--space-2)",
                    ),
                    spacing="4",
                ),
                on_submit=ProjectsState.create,
                reset_on_submit=False,
            ),
            max_width="480px",
        ),
        open=ProjectsState.create_open,
        on_open_change=ProjectsState.set_create_open,
    )


def _new_project_button(label: str = "New project") -> rx.Component:
    return rx.button(rx.icon("plus", size=16), label, id="new-project")


def _project_row(project: ProjectRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(
                    project.name,
                    href="/projects/" + project.id,
                    weight="medium",
                    size="2",
                    class_name="project-link",
                ),
                rx.cond(
                    project.description != "",
                    rx.text(project.description, size="1", color_scheme="gray", style=ONE_LINE),
                ),
                spacing="1",
                max_width="460px",
            )
        ),
        rx.table.cell(role_badge(project.role)),
        rx.table.cell(
            rx.hstack(rx.icon("users", size=14), rx.text(project.member_count), align="center")
        ),
        rx.table.cell(
            rx.hstack(rx.icon("server", size=14), rx.text(project.server_count), align="center")
        ),
        rx.table.cell(
            rx.text(project.created, size="1", color_scheme="gray", white_space="nowrap")
        ),
        align="center",
    )


def _table() -> rx.Component:
    return rx.vstack(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            placeholder="Search projects by name or description",
            value=ProjectsState.search,
            on_change=ProjectsState.set_search,
            width="100%",
            max_width="360px",
            id="project-search",
        ),
        rx.cond(
            ProjectsState.visible_projects.length() > 0,
            data_table(
                ["Project", "My role", "Members", "Servers", "Created"],
                rx.foreach(ProjectsState.visible_projects, _project_row),
                id="projects-table",
            ),
            empty_state(
                "search-x",
                "No matching project",
                "No project of yours matches “" + ProjectsState.search + "”.",
            ),
        ),
        spacing="4",
        width="100%",
    )


@protected
def projects_page() -> rx.Component:
    return rx.box(
        page_header(
            "Projects",
            "The projects you are a member of.",
            new_project_dialog(_new_project_button()),
        ),
        rx.cond(
            ProjectsState.loading & (ProjectsState.projects.length() == 0),
            loading_block("Loading your projects…"),
            rx.cond(
                ProjectsState.projects.length() > 0,
                _table(),
                rx.card(
                    empty_state(
                        "folder-plus",
                        "No projects yet",
                        "Create a project to register MCP servers, invite your team and hand out "
                        "API keys to your MCP clients.",
                        rx.button(
                            rx.icon("plus", size=16),
                            "Create your first project",
                            variant="soft",
                            on_click=ProjectsState.set_create_open(True),
                        ),
                    ),
                    size="3",
                ),
            ),
        ),
    )
