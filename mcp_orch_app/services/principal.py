"""The acting principal passed to every service function."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    email: str
    name: str
    is_admin: bool
    login_session_id: uuid.UUID | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.email
