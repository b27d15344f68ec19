"""Field helpers shared by the table modules."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

from sqlmodel import Field

from mcp_orch_app.models.types import JSONDocument, StrEnumType, UTCDateTime, utcnow


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at_field(index: bool = False) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


def timestamp_field(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


def enum_field(enum_class: type[Enum], default: Enum | None = None, **kwargs) -> Any:
    nullable = kwargs.pop("nullable", default is None)
    return Field(default=default, sa_type=StrEnumType(enum_class), nullable=nullable, **kwargs)


def json_field(default_factory=None, nullable: bool = True) -> Any:
    if default_factory is not None:
        return Field(default_factory=default_factory, sa_type=JSONDocument, nullable=nullable)
    return Field(default=None, sa_type=JSONDocument, nullable=nullable)


__all__ = ["created_at_field", "datetime", "enum_field", "json_field", "timestamp_field", "uuid_pk"]
