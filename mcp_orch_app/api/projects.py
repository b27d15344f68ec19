"""/api/projects: projects, members, teams in a project, the activity feed."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import activity, projects
from mcp_orch_app.services.bounds import MAX_ROW_ID
from mcp_orch_app.services.schemas import (
    ActivityFiltersOut,
    ActivityOut,
    MemberIn,
    MemberOut,
    ProjectIn,
    ProjectOut,
    ProjectOverviewOut,
    ProjectPatch,
    ProjectTeamIn,
    ProjectTeamOut,
    RoleIn,
)

router = APIRouter(prefix="/api/projects", tags=["projects"], route_class=StrictJSONRoute)


@router.get("", response_model=list[ProjectOut])
def list_projects(
    actor: CurrentActor,
    q: str = Query("", max_length=100),
    all: bool = Query(False, description="administrators: every project"),
):
    return run(projects.list_projects, actor, q=q, all_projects=all)


@router.post("", status_code=201, response_model=ProjectOut)
def create_project(body: ProjectIn, actor: CurrentActor):
    return run(projects.create_project, actor, body.name, body.description)


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(project_id: str, actor: CurrentActor):
    return run(projects.get_project, actor, project_id)


@router.patch("/{project_id}", response_model=ProjectOut)
def update_project(project_id: str, body: ProjectPatch, actor: CurrentActor):
    return run(projects.update_project, actor, project_id, body)


@router.delete("/{project_id}", status_code=204)
def delete_project(project_id: str, actor: CurrentActor) -> Response:
    run(projects.delete_project, actor, project_id)
    return Response(status_code=204)


@router.get("/{project_id}/overview", response_model=ProjectOverviewOut)
def overview(project_id: str, actor: CurrentActor):
    return run(projects.project_overview, actor, project_id)


@router.get("/{project_id}/members", response_model=list[MemberOut])
def list_members(project_id: str, actor: CurrentActor):
    return run(projects.list_members, actor, project_id)


@router.post("/{project_id}/members", status_code=201, response_model=MemberOut)
def add_member(project_id: str, body: MemberIn, actor: CurrentActor):
    return run(projects.add_member, actor, project_id, body.email, body.role)


@router.patch("/{project_id}/members/{user_id}", response_model=MemberOut)
def change_member_role(project_id: str, user_id: str, body: RoleIn, actor: CurrentActor):
    return run(projects.change_member_role, actor, project_id, user_id, body.role)


@router.delete("/{project_id}/members/{user_id}", status_code=204)
def remove_member(project_id: str, user_id: str, actor: CurrentActor) -> Response:
    run(projects.remove_member, actor, project_id, user_id)
    return Response(status_code=204)


@router.get("/{project_id}/teams", response_model=list[ProjectTeamOut])
def list_project_teams(project_id: str, actor: CurrentActor):
    return run(projects.list_project_teams, actor, project_id)


@router.post("/{project_id}/teams", status_code=201, response_model=ProjectTeamOut)
def add_team(project_id: str, body: ProjectTeamIn, actor: CurrentActor):
    return run(projects.add_team_to_project, actor, project_id, body.team_id, body.role)


@router.delete("/{project_id}/teams/{team_id}", status_code=204)
def remove_team(project_id: str, team_id: str, actor: CurrentActor) -> Response:
    run(projects.remove_team_from_project, actor, project_id, team_id)
    return Response(status_code=204)


@router.get("/{project_id}/activity", response_model=list[ActivityOut])
def project_activity(
    project_id: str,
    actor: CurrentActor,
    limit: int = Query(50, ge=1, le=200),
    before_id: int | None = Query(None, ge=1, le=MAX_ROW_ID),
    action: str | None = Query(None, max_length=64),
    actor_id: str | None = Query(None, max_length=64),
):
    return run(
        activity.list_project_activity,
        actor,
        project_id,
        limit=limit,
        before_id=before_id,
        action=action,
        actor_id=actor_id,
    )


@router.get("/{project_id}/activity/filters", response_model=ActivityFiltersOut)
def project_activity_filters(project_id: str, actor: CurrentActor):
    return run(activity.project_activity_filters, actor, project_id)
