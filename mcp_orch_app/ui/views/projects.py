"""/projects: my projects, search, and the "New project" dialog."""

from __future__ import annotations

import reflex as rx

from mcp_orch_app.ui.components import (
    create_first,
    data_table,
    date_text,
    empty_state,
    icon_count,
    list_or_empty,
    name_and_description_fields,
    page_header,
    role_badge,
    search_input,
    with_description,
)
from mcp_orch_app.ui.dialogs import form_dialog
from mcp_orch_app.ui.layout import protected
from mcp_orch_app.ui.states.projects import ProjectsState
from mcp_orch_app.ui.states.rows import ProjectRow


def new_project_dialog(trigger: rx.Component) -> rx.Component:
    return form_dialog(
        trigger,
        "New project",
        "A project groups MCP servers, the people who use them and their API keys. "
        "You become its owner.",
        *name_and_description_fields(
            "project-name",
            "e.g. Payments platform",
            "What is this project for? (optional)",
            description_id="project-description",
        ),
        error=ProjectsState.create_error,
        submit_label="Create project",
        submitting=ProjectsState.creating,
        submit_id="project-create-submit",
        on_submit=ProjectsState.create,
        is_open=ProjectsState.create_open,
        on_open_change=ProjectsState.set_create_open,
        max_width="480px",
    )


def _new_project_button(label: str = "New project") -> rx.Component:
    return rx.button(rx.icon("plus", size=16), label, id="new-project")


def _project_row(project: ProjectRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            with_description(
                rx.link(
                    project.name,
                    href="/projects/" + project.id,
                    weight="medium",
                    size="2",
                    class_name="project-link",
                ),
                project.description,
            )
        ),
        rx.table.cell(role_badge(project.role)),
        rx.table.cell(icon_count("users", project.member_count)),
        rx.table.cell(icon_count("server", project.server_count)),
        rx.table.cell(date_text(project.created)),
        align="center",
    )


def _table() -> rx.Component:
    return rx.vstack(
        search_input(
            "Search projects by name or description",
            ProjectsState.search,
            ProjectsState.set_search,
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
        list_or_empty(
            ProjectsState.projects,
            ProjectsState.loading,
            "Loading your projects…",
            _table(),
            create_first(
                "folder-plus",
                "No projects yet",
                "Create a project to register MCP servers, invite your team and hand out "
                "API keys to your MCP clients.",
                "Create your first project",
                ProjectsState.set_create_open(True),
            ),
        ),
    )
