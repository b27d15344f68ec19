"""/api/teams: teams, their members, projects and activity."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from mcp_orch_app.api.deps import CurrentActor, run
from mcp_orch_app.api.strict_json import StrictJSONRoute
from mcp_orch_app.services import activity, teams
from mcp_orch_app.services.bounds import MAX_ROW_ID
from mcp_orch_app.services.schemas import (
    ActivityOut,
    MemberIn,
    MemberOut,
    ProjectOut,
    RoleIn,
    TeamIn,
    TeamOut,
)

router = APIRouter(prefix="/api/teams", tags=["teams"], route_class=StrictJSONRoute)


@router.get("", response_model=list[TeamOut])
def list_teams(actor: CurrentActor, all: bool = Query(False)):
    return run(teams.list_teams, actor, all_teams=all)


@router.post("", status_code=201, response_model=TeamOut)
def create_team(body: TeamIn, actor: CurrentActor):
    return run(teams.create_team, actor, body)


@router.get("/{team_id}", response_model=TeamOut)
def get_team(team_id: str, actor: CurrentActor):
    return run(teams.get_team, actor, team_id)


@router.get("/{team_id}/members", response_model=list[MemberOut])
def list_members(team_id: str, actor: CurrentActor):
    return run(teams.list_team_members, actor, team_id)


@router.post("/{team_id}/members", status_code=201, response_model=MemberOut)
def add_member(team_id: str, body: MemberIn, actor: CurrentActor):
    return run(teams.add_team_member, actor, team_id, body.email, body.role)


@router.patch("/{team_id}/members/{user_id}", response_model=MemberOut)
def change_role(team_id: str, user_id: str, body: RoleIn, actor: CurrentActor):
    return run(teams.change_team_member_role, actor, team_id, user_id, body.role)


@router.delete("/{team_id}/members/{user_id}", status_code=204)
def remove_member(team_id: str, user_id: str, actor: CurrentActor) -> Response:
    run(teams.remove_team_member, actor, team_id, user_id)
    return Response(status_code=204)


@router.get("/{team_id}/projects", response_model=list[ProjectOut])
def team_projects(team_id: str, actor: CurrentActor):
    return run(teams.list_team_projects, actor, team_id)


@router.get("/{team_id}/activity", response_model=list[ActivityOut])
def team_activity(
    team_id: str,
    actor: CurrentActor,
    limit: int = Query(50, ge=1, le=200),
    before_id: int | None = Query(None, ge=1, le=MAX_ROW_ID),
):
    return run(activity.list_team_activity, actor, team_id, limit=limit, before_id=before_id)
