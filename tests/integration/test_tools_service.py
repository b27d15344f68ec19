"""The tools of a server: the cached tool table, kept in step with listings, merged with the
project's preferences; enabling and disabling reaches the gateway's authorization at once."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from mcp_orch_app import db
from mcp_orch_app.models import Activity, McpServer, McpTool, ToolPreference
from mcp_orch_app.services import api_keys, mcp_access, projects, servers, tools
from mcp_orch_app.services.access_events import add_access_listener
from mcp_orch_app.services.errors import InvalidInput, NotFound, PermissionDenied
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn

TIME_TOOLS = [
    {
        "name": "get_current_time",
        "description": "Current time in a timezone",
        "inputSchema": {"type": "object", "properties": {"timezone": {"type": "string"}}},
    },
    {
        "name": "convert_time",
        "description": "Convert a time between timezones",
        "inputSchema": {"type": "object", "properties": {"time": {"type": "string"}}},
    },
]


class Site:
    def __init__(self, engine, make_person):
        self.engine = engine
        self.owner = make_person("Olivia")
        self.developer = make_person("Dimitri")
        self.reporter = make_person("Rita")
        o = self.owner.actor
        with db.session_scope(engine) as s:
            self.pid = projects.create_project(s, o, "Apollo").id
            projects.add_member(s, o, self.pid, self.developer.email, "developer")
            projects.add_member(s, o, self.pid, self.reporter.email, "reporter")
            self.sid = servers.create_server(
                s, o, self.pid, ServerIn(name="time", command="uvx", args=["mcp-server-time"])
            ).id
            self.key = api_keys.create_api_key(s, o, self.pid, ApiKeyIn(name="laptop")).key

    def sync(self, listed):
        with db.session_scope(self.engine) as s:
            return tools.sync_tool_cache(s, self.sid, listed)

    def list(self, person=None):
        with db.session_scope(self.engine) as s:
            return tools.list_tools(s, (person or self.reporter).actor, self.pid, self.sid)

    def set(self, name, enabled, person=None):
        with db.session_scope(self.engine) as s:
            return tools.set_tool_enabled(
                s, (person or self.developer).actor, self.pid, self.sid, name, enabled
            )

    def tools_count(self) -> int:
        with db.session_scope(self.engine) as s:
            return s.get(McpServer, self.sid).tools_count

    def actions(self) -> list[str]:
        with db.session_scope(self.engine) as s:
            rows = s.exec(select(Activity).where(Activity.project_id == self.pid)).all()
            return [a.action for a in rows if a.action.startswith("tool.")]

    def disabled_for_gateway(self) -> frozenset[str]:
        with db.session_scope(self.engine) as s:
            grant = mcp_access.authorize_mcp_client(s, self.pid, "time", self.key)
        return grant.disabled_tools.get(self.sid, frozenset())


@pytest.fixture
def site(engine, make_person) -> Site:
    return Site(engine, make_person)


def test_sync_adds_listed_tools_and_counts_them(site):
    assert site.sync(TIME_TOOLS) == {
        "added": ["convert_time", "get_current_time"],
        "changed": [],
        "removed": [],
    }
    listed = site.list()
    assert [t.name for t in listed] == ["convert_time", "get_current_time"]
    current = listed[1]
    assert current.description == "Current time in a timezone"
    assert current.input_schema == TIME_TOOLS[0]["inputSchema"]
    assert current.enabled is True
    assert current.call_count == 0
    assert site.tools_count() == 2


def test_sync_updates_changed_tools_keeps_their_figures_and_removes_vanished_ones(site):
    site.sync(TIME_TOOLS)
    with db.session_scope(site.engine) as s:
        tool = s.exec(select(McpTool).where(McpTool.name == "get_current_time")).one()
        tool.call_count, tool.avg_duration_ms = 7, 12.5
        s.add(tool)

    changed = {**TIME_TOOLS[0], "description": "Now, anywhere"}
    added = {"name": "sleep", "input_schema": {"type": "object"}}
    assert site.sync([changed, added]) == {
        "added": ["sleep"],
        "changed": ["get_current_time"],
        "removed": ["convert_time"],
    }
    by_name = {t.name: t for t in site.list()}
    assert set(by_name) == {"get_current_time", "sleep"}
    assert by_name["get_current_time"].description == "Now, anywhere"
    assert (
        by_name["get_current_time"].call_count,
        by_name["get_current_time"].avg_duration_ms,
    ) == (
        7,
        12.5,
    )
    assert by_name["sleep"].input_schema == {"type": "object"}
    assert site.tools_count() == 2
    # The same listing again changes nothing.
    assert site.sync([changed, added]) == {"added": [], "changed": [], "removed": []}


def test_sync_to_an_empty_listing_empties_the_cache(site):
    site.sync(TIME_TOOLS)
    assert site.sync([])["removed"] == ["convert_time", "get_current_time"]
    assert site.list() == []
    assert site.tools_count() == 0


def test_sync_of_an_unknown_server_is_refused(site):
    with db.session_scope(site.engine) as s, pytest.raises(NotFound):
        tools.sync_tool_cache(s, uuid.uuid4(), TIME_TOOLS)


def test_disabling_a_tool_shows_in_the_list_the_feed_and_the_gateway_at_once(site):
    site.sync(TIME_TOOLS)
    heard: list[uuid.UUID] = []
    stop = add_access_listener(heard.append)
    try:
        out = site.set("convert_time", False)
    finally:
        stop()

    assert out.enabled is False
    assert out.description == "Convert a time between timezones"
    assert {t.name: t.enabled for t in site.list()} == {
        "convert_time": False,
        "get_current_time": True,
    }
    assert site.actions() == ["tool.disabled"]
    assert heard == [site.pid]
    assert site.disabled_for_gateway() == {"convert_time"}

    site.set("convert_time", True)
    assert all(t.enabled for t in site.list())
    assert site.actions() == ["tool.disabled", "tool.enabled"]
    assert site.disabled_for_gateway() == frozenset()


def test_setting_a_tool_to_its_current_state_writes_nothing(site):
    site.sync(TIME_TOOLS)
    site.set("convert_time", True)
    site.set("convert_time", False)
    site.set("convert_time", False)
    assert site.actions() == ["tool.disabled"]


def test_a_disabled_tool_stays_disabled_across_refreshes_even_when_it_vanishes(site):
    site.sync(TIME_TOOLS)
    site.set("convert_time", False)
    site.sync(TIME_TOOLS[:1])
    site.sync(TIME_TOOLS)
    assert {t.name: t.enabled for t in site.list()}["convert_time"] is False


def test_unknown_tool_name_is_refused_once_the_server_has_been_listed(site):
    site.sync(TIME_TOOLS)
    with pytest.raises(NotFound, match="no tool named 'convert_tiem'"):
        site.set("convert_tiem", False)
    with db.session_scope(site.engine) as s:
        assert s.exec(select(ToolPreference)).all() == []


def test_any_tool_name_is_accepted_before_the_first_listing(site):
    out = site.set("dangerous_tool", False)
    assert out.enabled is False
    assert site.list() == []  # nothing cached yet: the preference waits for the listing
    assert site.disabled_for_gateway() == {"dangerous_tool"}
    site.sync([{"name": "dangerous_tool"}])
    assert [(t.name, t.enabled) for t in site.list()] == [("dangerous_tool", False)]


def test_reporter_may_list_but_not_change_tools(site):
    site.sync(TIME_TOOLS)
    assert len(site.list(site.reporter)) == 2
    with pytest.raises(PermissionDenied):
        site.set("convert_time", False, site.reporter)
    assert site.actions() == []


def test_empty_tool_name_is_refused(site):
    with pytest.raises(InvalidInput):
        site.set("  ", False)


def test_several_tools_are_switched_in_one_action(site):
    site.sync(TIME_TOOLS)
    with db.session_scope(site.engine) as s:
        out = tools.set_tools_enabled(
            s,
            site.developer.actor,
            site.pid,
            site.sid,
            ["convert_time", "get_current_time", "convert_time"],
            False,
        )
    assert [(t.name, t.enabled) for t in out] == [
        ("convert_time", False),
        ("get_current_time", False),
    ]
    assert site.disabled_for_gateway() == {"convert_time", "get_current_time"}
    assert site.actions() == ["tool.disabled", "tool.disabled"]


def test_a_bulk_action_with_one_unknown_name_changes_nothing(site):
    site.sync(TIME_TOOLS)
    with pytest.raises(NotFound), db.session_scope(site.engine) as s:
        tools.set_tools_enabled(
            s, site.developer.actor, site.pid, site.sid, ["convert_time", "nope"], False
        )
    assert all(t.enabled for t in site.list())
    assert site.actions() == []


def test_rest_patch_switches_several_tools_and_refuses_bad_bodies(site, api_client):
    site.sync(TIME_TOOLS)
    path = f"/api/projects/{site.pid}/servers/{site.sid}/tools"
    headers = site.developer.headers
    response = api_client.patch(
        path,
        json={"names": ["convert_time", "get_current_time"], "enabled": False},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert {t["name"]: t["enabled"] for t in response.json()} == {
        "convert_time": False,
        "get_current_time": False,
    }
    for body in ({"names": [], "enabled": True}, {"names": "convert_time"}, {"enabled": True}):
        assert api_client.patch(path, json=body, headers=headers).status_code == 422
    refused = api_client.patch(
        path, json={"names": ["convert_time"], "enabled": True}, headers=site.reporter.headers
    )
    assert refused.status_code == 403
    assert (
        api_client.patch(
            path, json={"names": ["nope", "convert_time"], "enabled": True}, headers=headers
        ).status_code
        == 404
    )
    assert not any(t.enabled for t in site.list())
