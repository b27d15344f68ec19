"""Teams and their members."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field, enum_field, uuid_pk
from mcp_orch_app.models.enums import Role


class Team(SQLModel, table=True):
    __tablename__ = "teams"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_team_members_team_user"),)

    id: uuid.UUID = uuid_pk()
    team_id: uuid.UUID = Field(foreign_key="teams.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    role: Role = enum_field(Role, default=Role.DEVELOPER)
    created_at: datetime = created_at_field()
