"""Background worker configuration and run history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field, enum_field, json_field, timestamp_field
from mcp_orch_app.models.enums import WorkerRunStatus, WorkerRunTrigger
from mcp_orch_app.models.types import BigIntKey


class WorkerConfig(SQLModel, table=True):
    """A single row (id 1)."""

    __tablename__ = "worker_config"

    id: int = Field(default=1, primary_key=True)
    enabled: bool = Field(default=True)
    interval_seconds: int = Field(default=300)
    # Checks at a time. A hanging server holds its check for one timeout, so a run costs about
    # ceil(hanging servers / concurrency) timeouts: 50 keeps 50 hanging servers to one.
    concurrency: int = Field(default=50)
    check_timeout_seconds: int = Field(default=30)
    retention_days: int = Field(default=30)
    updated_at: datetime = created_at_field()
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")


class WorkerRun(SQLModel, table=True):
    __tablename__ = "worker_runs"

    id: int | None = Field(
        default=None, sa_column=Column("id", BigIntKey, primary_key=True, autoincrement=True)
    )
    trigger: WorkerRunTrigger = enum_field(WorkerRunTrigger, default=WorkerRunTrigger.SCHEDULE)
    status: WorkerRunStatus = enum_field(WorkerRunStatus, default=WorkerRunStatus.RUNNING)
    started_at: datetime = created_at_field(index=True)
    finished_at: datetime | None = timestamp_field()
    duration_ms: int | None = Field(default=None)
    checked: int = Field(default=0)
    changed: int = Field(default=0)
    failed: int = Field(default=0)
    error: str | None = Field(default=None)
    details: Any | None = json_field()
