"""Facts about the whole installation, shared by every replica through the database.

``installation_key`` holds one row: the fingerprint of the secret key that encrypts server
secrets (security/key_fingerprint.py). The first process to start writes it; every later one
compares its own key's fingerprint and refuses to start on a mismatch, instead of failing to
decrypt each server's secrets later.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field


class InstallationKey(SQLModel, table=True):
    __tablename__ = "installation_key"

    # Always 1: the primary key makes a second row (a racing first start) impossible.
    id: int = Field(default=1, primary_key=True)
    # HMAC-SHA256 of a fixed label under the key, hex; it does not reveal the key.
    fingerprint: str = Field(max_length=64)
    created_at: datetime = created_at_field()
