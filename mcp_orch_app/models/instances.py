"""The running backend processes (gateway instances) of an installation, for crash clean-up.

Each backend process registers one row when its gateway starts and refreshes ``heartbeat_at``
while it runs; every ``ClientSession`` row names the instance serving it. A row whose process
is gone (see services/instances.py) lets another instance end that process's sessions.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field


class GatewayInstance(SQLModel, table=True):
    __tablename__ = "gateway_instances"

    id: uuid.UUID = Field(primary_key=True)
    hostname: str = Field(default="", max_length=255)
    # Which pid namespace of which boot the pid belongs to: only an instance with the same key
    # can tell from the process table that the process is gone.
    host_key: str | None = Field(default=None, max_length=128)
    pid: int = Field(default=0)
    # Start time of the process (clock ticks since boot), so a reused pid is not taken for it.
    pid_start: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    started_at: datetime = created_at_field()
    heartbeat_at: datetime = created_at_field()
