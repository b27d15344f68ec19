"""The OAuth panel of a server's page: its auth setting (none, static headers, OAuth: shared or
per user, scopes, a pre-registered client), connected as whom, scopes, expiry, and Connect /
Reconnect / Disconnect for the project's shared connection or the person's own.

The settings form is a thin adapter over ``services.upstream_oauth.set_oauth`` (owner or
developer, checked there). The client secret is write-only: the form never holds the stored
one, and an empty secret field keeps it (sent as the service's masked "keep" value).

Connect starts the flow in this process (gateway/upstream_oauth.py) and sends the browser to the
provider's consent page; the provider returns it to mcp-orch's callback route, which finishes.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import reflex as rx

from mcp_orch_app.config import get_settings
from mcp_orch_app.db import run_db
from mcp_orch_app.gateway import upstream_oauth as flows
from mcp_orch_app.gateway.runtime import current_gateway
from mcp_orch_app.services import upstream_oauth
from mcp_orch_app.ui.format import timestamp
from mcp_orch_app.ui.states.auth import AuthState
from mcp_orch_app.ui.states.live import route_ids

STATUS_LABELS = {"connected": "Connected", "needs_reconnect": "Needs reconnect"}
KEEP_SECRET = "••••••"  # what set_oauth reads as "keep the stored client secret"
FORM_LIMIT = 4000  # a field longer than any the service accepts is cut, then refused there


def _expiry(iso: str | None) -> str:
    """The access token's expiry as the UI writes times (``2026-03-01 14:05 UTC``)."""
    return timestamp(datetime.fromisoformat(iso)) if iso else ""


@dataclasses.dataclass
class OAuthConnectionRow:
    present: bool = False
    status: str = ""
    label: str = "Not connected"
    subject: str = ""
    connected_by: str = ""
    scopes: str = ""
    expires_at: str = ""
    last_error: str = ""

    @classmethod
    def of(cls, summary: dict[str, Any] | None) -> OAuthConnectionRow:
        if not summary:
            return cls()
        return cls(
            present=True,
            status=summary["status"],
            label=STATUS_LABELS.get(summary["status"], summary["status"]),
            subject=summary.get("subject") or "",
            connected_by=summary.get("connected_by_name") or "",
            scopes=summary.get("scopes") or "",
            expires_at=_expiry(summary.get("expires_at")),
            last_error=summary.get("last_error") or "",
        )


class ServerOAuthState(AuthState):
    auth: str = ""
    mode: str = ""
    shared: OAuthConnectionRow = OAuthConnectionRow()
    mine: OAuthConnectionRow = OAuthConnectionRow()
    oauth_busy: str = ""
    # The settings form (what the person types; kept when the service refuses it).
    form_auth: str = "none"
    form_mode: str = "shared"
    form_scopes: str = ""
    form_client_id: str = ""
    form_client_secret: str = ""
    secret_stored: bool = False
    settings_problem: str = ""

    @rx.var
    def which(self) -> str:
        return "mine" if self.mode == "per_user" else "shared"

    @rx.var
    def connection(self) -> OAuthConnectionRow:
        return self.mine if self.mode == "per_user" else self.shared

    def _store(self, info: dict[str, Any]) -> None:
        self.auth, self.mode = info["auth"], info.get("mode") or ""
        self.shared = OAuthConnectionRow.of(info.get("shared"))
        self.mine = OAuthConnectionRow.of(info.get("mine"))
        self.form_auth, self.form_mode = self.auth, self.mode or "shared"
        self.form_scopes = info.get("scopes") or ""
        self.form_client_id = info.get("client_id") or ""
        self.form_client_secret = ""
        self.secret_stored = bool(info.get("client_secret"))

    async def _read(self) -> None:
        project_id, server_id = route_ids(self)
        self._store(await self._call(upstream_oauth.get_oauth, project_id, server_id))

    async def _target(self, which: str):
        """The actor and the connection ``which`` they may make or drop (or the refusal)."""
        project_id, server_id = route_ids(self)
        actor = await self._actor()
        target = await run_db(
            upstream_oauth.authorize_connection, actor, project_id, server_id, str(which)
        )
        return actor, target

    @rx.event
    async def load(self):
        async for event in self._attempt("oauth_busy", self._read, value="load"):
            yield event

    @rx.event
    async def connect(self, which: str):
        """Start the flow: this tab goes to the provider's consent page."""

        async def start():
            actor, target = await self._target(which)
            base = get_settings().public_url or self.router.url.origin
            callback = (
                f"{base}/api/projects/{target.project_id}/servers/{target.server_id}/oauth/callback"
            )
            url = await flows.begin_connect(target, actor.user_id, callback)
            # In this tab (not a new one): the callback page links back to the server page.
            return rx.redirect(url)

        async for event in self._attempt("oauth_busy", start, value="connect"):
            yield event

    @rx.event
    async def disconnect(self, which: str):
        async def drop():
            _, target = await self._target(which)
            revoked = await flows.disconnect(target)
            gateway = current_gateway()
            if gateway is not None:
                await gateway.pool.stop(str(target.server_id), "OAuth disconnected")
            await self._read()
            suffix = " and revoked at the provider" if revoked else ""
            return rx.toast.success(f"Disconnected{suffix}.")

        async for event in self._attempt("oauth_busy", drop, value="disconnect"):
            yield event

    @rx.event
    def set_form_auth(self, value: str):
        self.form_auth = str(value)[:20]

    @rx.event
    def set_form_mode(self, value: str):
        self.form_mode = str(value)[:20]

    @rx.event
    def set_form_scopes(self, value: str):
        self.form_scopes = str(value)[:FORM_LIMIT]

    @rx.event
    def set_form_client_id(self, value: str):
        self.form_client_id = str(value)[:FORM_LIMIT]

    @rx.event
    def set_form_client_secret(self, value: str):
        self.form_client_secret = str(value)[:FORM_LIMIT]

    def _settings_body(self) -> dict[str, Any]:
        if self.form_auth != "oauth":
            return {"auth": self.form_auth}
        client_id = self.form_client_id.strip()
        secret = self.form_client_secret.strip()
        if not secret and client_id and self.secret_stored:
            secret = KEEP_SECRET  # left empty: keep the stored one
        return {
            "auth": "oauth",
            "mode": self.form_mode,
            "scopes": self.form_scopes,
            "client_id": client_id,
            "client_secret": secret,
        }

    @rx.event
    async def save_settings(self):
        """Store the form as the server's auth setting (the service checks role and input)."""

        async def save():
            project_id, server_id = route_ids(self)
            body = self._settings_body()
            self._store(await self._call(upstream_oauth.set_oauth, project_id, server_id, body))
            gateway = current_gateway()
            if gateway is not None:
                await gateway.pool.stop(server_id, "OAuth setting changed")
            return rx.toast.success("Authentication setting saved.")

        async for event in self._attempt(
            "oauth_busy", save, value="settings", error="settings_problem"
        ):
            yield event
