"""/projects/[project_id]/keys: the project's API keys. Owners create them and revoke them;
the services refuse anyone else.

A new key is pushed to the browser in an event (:data:`NEW_KEY`, a variable of the page in the
browser only) and never kept in this state: states are stored server-side between events (on
disk by default), and the key must exist nowhere but in the creator's hands."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import reflex as rx
from reflex.experimental.client_state import ClientStateVar

from mcp_orch_app.services import api_keys
from mcp_orch_app.services.errors import InvalidInput
from mcp_orch_app.services.schemas import ApiKeyIn
from mcp_orch_app.ui.states.create_dialog import CreateDialogMixin
from mcp_orch_app.ui.states.project_frame import ProjectFrameState
from mcp_orch_app.ui.states.rows import ApiKeyRow


def expiry_from_form(value: str) -> datetime | None:
    """The key's expiry for a date picked in the form: the end of that day, UTC."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{text!r} is not a date; pick one or leave the field empty.") from None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


# The key just created, shown once in its dialog; empty when there is none to show.
NEW_KEY = ClientStateVar.create("new_api_key", default="")


class ApiKeysState(CreateDialogMixin, ProjectFrameState):
    loading: bool = True
    problem: str = ""
    keys: list[ApiKeyRow] = []
    # The name of the key just created (the key itself is only in the browser: NEW_KEY).
    new_key_name: str = ""
    busy_key_id: str = ""

    @rx.var
    def active_count(self) -> int:
        return sum(1 for key in self.keys if key.status == "active")

    async def _reload(self) -> None:
        keys = await self._call(api_keys.list_api_keys, self.route_project_id())
        self.keys = [ApiKeyRow.of(key) for key in keys]

    @rx.event
    async def load(self):
        self.keys = []
        self.new_key_name = ""
        yield NEW_KEY.push("")
        async for event in self._attempt("loading", self._reload, error="problem"):
            yield event

    @rx.event
    async def create(self, form: dict):
        async def add_key():
            data = ApiKeyIn(
                name=str(form.get("name", ""))[:100],
                expires_at=expiry_from_form(str(form.get("expires", ""))),
            )
            created = await self._call(api_keys.create_api_key, self.route_project_id(), data)
            await self._reload()
            self.create_open = False
            self.new_key_name = created.name
            return NEW_KEY.push(created.key)

        async for event in self._attempt("creating", add_key, error="create_error"):
            yield event

    @rx.event
    async def revoke(self, key_id: str):
        async def revoke_key():
            await self._call(api_keys.revoke_api_key, self.route_project_id(), key_id)
            await self._reload()
            return rx.toast.success("Key revoked: clients using it are refused from now on.")

        async for event in self._attempt("busy_key_id", revoke_key, value=key_id):
            yield event
