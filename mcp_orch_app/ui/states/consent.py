"""/oauth/consent: the signed-in user lets an MCP client (OAuth, services/oauth.py) reach one
endpoint of one of their projects, or refuses.

The page shows the client's name and the redirect URI the answer goes to, and offers the
user's projects with each enabled server and the unified endpoint. The services check
everything again (membership, the request being open and unanswered, the resource the client
asked for); the page only draws.
"""

from __future__ import annotations

from urllib.parse import urlencode

import reflex as rx

from mcp_orch_app.services import oauth
from mcp_orch_app.services.errors import NotAuthenticated, ServiceError
from mcp_orch_app.ui.states.auth import AuthState, NoLogin


class ConsentState(AuthState):
    loaded: bool = False
    problem: str = ""
    client_name: str = ""
    redirect_uri: str = ""
    # Labels of the endpoints the user may pick; the chosen one.
    choices: list[str] = []
    choice: str = ""
    answering: bool = False
    _targets: dict[str, tuple[str, str | None]] = {}

    def _request_token(self) -> str:
        return str(self.router.url.query_parameters.get("request", ""))[:200]

    def _login_url(self) -> str:
        here = "/oauth/consent?" + urlencode({"request": self._request_token()})
        return "/login?" + urlencode({"next": here})

    @rx.event
    async def load(self):
        self.loaded, self.problem, self.answering = False, "", False
        try:
            consent = await self._call(oauth.describe_request, self._request_token())
        except NoLogin:
            return rx.redirect(self._login_url())
        except NotAuthenticated as exc:
            return self._failure(exc)
        except ServiceError as exc:
            self.problem = exc.message
            self.loaded = True
            return
        targets: dict[str, tuple[str, str | None]] = {}
        # A client that asked for one endpoint (RFC 8707 resource) can get that one only.
        for project in consent.projects:
            if not consent.unified:
                for server in project.servers:
                    if consent.server_name in (None, server):
                        targets[f"{project.name} · server {server}"] = (project.id, server)
            if project.unified_enabled and (consent.unified or consent.project_id is None):
                targets[f"{project.name} · unified endpoint"] = (project.id, None)
        self._targets = targets
        self.choices = list(targets)
        self.choice = self.choices[0] if self.choices else ""
        self.client_name = consent.client_name
        self.redirect_uri = consent.redirect_uri
        if not targets:
            self.problem = "You are not a member of a project this application can be connected to."
        self.loaded = True

    @rx.event
    def pick(self, value: str):
        self.choice = value

    @rx.event
    async def approve(self):
        target = self._targets.get(self.choice)
        if target is None:
            yield rx.toast.error("Pick a project and an endpoint first.")
            return
        project_id, server = target

        async def work():
            url = await self._call(oauth.approve_request, self._request_token(), project_id, server)
            # Not is_external: that opens a new tab; another origin is left with location.assign.
            return rx.redirect(url)

        async for event in self._attempt("answering", work, error="problem"):
            yield event

    @rx.event
    async def deny(self):
        async def work():
            url = await self._call(oauth.deny_request, self._request_token())
            # Not is_external: that opens a new tab; another origin is left with location.assign.
            return rx.redirect(url)

        async for event in self._attempt("answering", work, error="problem"):
            yield event
