"""mcp-orch as an OAuth 2.1 authorization server for MCP clients (services/oauth.py).

A registered client (RFC 7591) asks a user for access (``oauth_authorization_requests``, the
consent step), the user grants it for one endpoint of one project: a server or the project's
unified endpoint (``oauth_authorization_codes`` -> ``oauth_grants``). A grant carries the
current refresh token (rotated at every use) and its access tokens. Only SHA-256 hashes of
secrets, codes and tokens are stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from mcp_orch_app.models.base import created_at_field, json_field, timestamp_field, uuid_pk


class OAuthClient(SQLModel, table=True):
    __tablename__ = "oauth_clients"

    id: uuid.UUID = uuid_pk()
    # The public client_id (RFC 7591 `client_id`), distinct from the row key.
    client_id: str = Field(max_length=64, unique=True, index=True)
    client_secret_hash: str | None = Field(default=None, max_length=64)
    client_name: str | None = Field(default=None, max_length=200)
    redirect_uris: Any = json_field(default_factory=list, nullable=False)
    token_endpoint_auth_method: str = Field(default="none", max_length=32)
    # The registration metadata as the client sent it (without any secret).
    client_metadata: Any = json_field(default_factory=dict, nullable=False)
    registered_by: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at_field()
    client_secret_expires_at: datetime | None = timestamp_field()


class OAuthAuthorizationRequest(SQLModel, table=True):
    """An /authorize request waiting for the user's consent (the consent page's subject)."""

    __tablename__ = "oauth_authorization_requests"

    id: uuid.UUID = uuid_pk()
    request_hash: str = Field(max_length=64, unique=True, index=True)
    client_id: uuid.UUID = Field(foreign_key="oauth_clients.id", ondelete="CASCADE", index=True)
    redirect_uri: str = Field(max_length=2000)
    redirect_uri_provided_explicitly: bool = Field(default=True)
    state: str | None = Field(default=None, max_length=500)
    code_challenge: str = Field(max_length=128)
    scopes: Any = json_field(default_factory=list, nullable=False)
    # The RFC 8707 resource the client asked for, if any (an MCP endpoint of mcp-orch).
    resource: str | None = Field(default=None, max_length=2000)
    # The issuer (mcp-orch's public origin) the request came through: resources are its URLs.
    issuer: str = Field(max_length=2000)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    # Set once the user answered (approved or denied): a request is answered once.
    answered_at: datetime | None = timestamp_field()


class OAuthAuthorizationCode(SQLModel, table=True):
    __tablename__ = "oauth_authorization_codes"

    id: uuid.UUID = uuid_pk()
    code_hash: str = Field(max_length=64, unique=True, index=True)
    client_id: uuid.UUID = Field(foreign_key="oauth_clients.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    # None: the project's unified endpoint.
    server_id: uuid.UUID | None = Field(
        default=None, foreign_key="mcp_servers.id", ondelete="CASCADE"
    )
    resource: str = Field(max_length=2000)
    redirect_uri: str = Field(max_length=2000)
    redirect_uri_provided_explicitly: bool = Field(default=True)
    code_challenge: str = Field(max_length=128)
    scopes: Any = json_field(default_factory=list, nullable=False)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
    # The grant the code was exchanged for (revoked if the code is presented again).
    grant_id: uuid.UUID | None = Field(default=None)


class OAuthGrant(SQLModel, table=True):
    """What one user let one client reach: one endpoint of one project, until revoked."""

    __tablename__ = "oauth_grants"

    id: uuid.UUID = uuid_pk()
    client_id: uuid.UUID = Field(foreign_key="oauth_clients.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    server_id: uuid.UUID | None = Field(
        default=None, foreign_key="mcp_servers.id", ondelete="CASCADE"
    )
    resource: str = Field(max_length=2000)
    scopes: Any = json_field(default_factory=list, nullable=False)
    refresh_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    refresh_expires_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()


class OAuthAccessToken(SQLModel, table=True):
    __tablename__ = "oauth_access_tokens"

    id: uuid.UUID = uuid_pk()
    token_hash: str = Field(max_length=64, unique=True, index=True)
    grant_id: uuid.UUID = Field(foreign_key="oauth_grants.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
