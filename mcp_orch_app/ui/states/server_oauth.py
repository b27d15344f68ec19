"""The OAuth panel of a server's page: connected as whom, scopes, expiry, and Connect /
Reconnect / Disconnect for the project's shared connection or the person's own.

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
