"""Projects, their members and the teams added to them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field, enum_field, uuid_pk
from mcp_orch_app.models.enums import InvitedAs, Role, UnifiedNaming


class Project(SQLModel, table=True):
    __tablename__ = "projects"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    # Closed by default: MCP clients need a project API key unless the owner opens it.
    allow_anonymous: bool = Field(default=False)
    unified_enabled: bool = Field(default=True)
    # How the unified endpoint names tools and prompts; existing rows get the old behaviour.
    unified_naming: UnifiedNaming = enum_field(
        UnifiedNaming,
        default=UnifiedNaming.PREFIXED,
        sa_column_kwargs={"server_default": UnifiedNaming.PREFIXED.value},
    )
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ProjectMember(SQLModel, table=True):
    __tablename__ = "project_members"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id", name="uq_project_members_project_user"),
    )

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    role: Role = enum_field(Role, default=Role.DEVELOPER)
    invited_as: InvitedAs = enum_field(InvitedAs, default=InvitedAs.INDIVIDUAL)
    # The team through which a team_member joined (None for individuals).
    team_id: uuid.UUID | None = Field(default=None, foreign_key="teams.id", ondelete="SET NULL")
    invited_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class ProjectTeam(SQLModel, table=True):
    """A team added to a project as a whole; its members join as ``team_member``."""

    __tablename__ = "project_teams"
    __table_args__ = (UniqueConstraint("project_id", "team_id", name="uq_project_teams"),)

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    team_id: uuid.UUID = Field(foreign_key="teams.id", ondelete="CASCADE", index=True)
    role: Role = enum_field(Role, default=Role.DEVELOPER)
    added_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
