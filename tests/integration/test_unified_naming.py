"""The unified endpoint's naming setting (issue 10, item 5): ``prefixed`` (``{server}__{name}``
always, the default) or ``bare`` (a tool's or prompt's own name when one server offers it,
prefixed on a collision), stable as gateway/namespace.py says, set by owners through the REST
API and the settings page, kept for existing projects by migration 0005.

End to end with real SDK clients (handshake over streamable HTTP and SSE, `mcp.Client` in the
2026-07-28 era) against real fixture server processes behind a live app.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from mcp import MCPError
from mcp.shared.subscriptions import PromptsListChanged, ToolsListChanged
from sqlalchemy.pool import NullPool

from mcp_orch_app import db
from mcp_orch_app.config import _normalise_database_url
from mcp_orch_app.gateway.namespace import (
    Offer,
    SessionNames,
    assign_names,
    bare_holders,
    matches_uri_template,
    unified_tool_name,
)
from mcp_orch_app.migrations import alembic_config, head_revision, upgrade_to_head
from mcp_orch_app.models import Activity, UnifiedNaming
from mcp_orch_app.models import Project as ProjectRow
from mcp_orch_app.services import api_keys, projects, servers
from mcp_orch_app.services.schemas import ApiKeyIn, ProjectPatch
from mcp_orch_app.ui.states.project_settings import ProjectSettingsState
from tests.integration.test_gateway_endpoints import auto_client, fixture_server_in, flushed
from tests.integration.test_migrations import database_url  # noqa: F401 (the fixture)
from tests.integration.test_unified_endpoint import (
    Notifications,
    Project,
    connect,
    eventually,
    unified_url,
)
from tests.live_app import LiveApp, running_app
from tests.ui_events import error_toasts, run_event, state_for

MEDIA = {"FIXTURE_MEDIA_TOOLS": "1", "FIXTURE_OWN_RESOURCES": "1"}
"""alpha's extra tools, `picture` and `sound`, and resources, `fixture://own-note` and the
template `fixture://own/{key}`: the names and URIs only alpha offers."""


@pytest.fixture
async def live(engine) -> Iterator[LiveApp]:
    async with running_app(engine) as app:
        yield app


def make_project(
    engine, owner, tmp_path: Path, names: tuple[str, ...], naming: str | None = "bare"
) -> Project:
    call_logs = {name: tmp_path / f"{name}.log" for name in names}
    with db.session_scope(engine) as s:
        created = projects.create_project(s, owner.actor, f"Naming {uuid.uuid4().hex[:6]}")
        if naming is not None:
            projects.update_project(s, owner.actor, created.id, ProjectPatch(unified_naming=naming))
        server_ids = {
            name: _create(s, owner, created.id, name, log) for name, log in call_logs.items()
        }
        key = api_keys.create_api_key(s, owner.actor, created.id, ApiKeyIn(name="ci")).key
    return Project(created.id, key, owner, call_logs, server_ids)


def _create(s, owner, project_id, name: str, log: Path) -> uuid.UUID:
    server = fixture_server_in(name, log)
    if name == "alpha":
        server.env = {**server.env, **MEDIA}
    return servers.create_server(s, owner.actor, project_id, server).id


def add_fixture(engine, project: Project, name: str, tmp_path: Path) -> None:
    project.call_logs[name] = tmp_path / f"{name}.log"
    with db.session_scope(engine) as s:
        project.server_ids[name] = _create(
            s, project.owner, project.id, name, project.call_logs[name]
        )


async def tool_names(client: Any) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def prompt_names(client: Any) -> set[str]:
    return {prompt.name for prompt in (await client.list_prompts()).prompts}


async def echo(client: Any, name: str, text: str) -> str:
    return (await client.call_tool(name, {"text": text})).content[0].text


async def refused(call: Any) -> str:
    with pytest.raises(MCPError) as caught:
        await call
    assert caught.value.code == -32602
    return str(caught.value)


async def first_event(subscription: Any, seconds: float = 10) -> Any:
    return await asyncio.wait_for(anext(aiter(subscription)), seconds)


# --- the rules, as pure functions ---------------------------------------------------------------


def _offer(server: str, *names: str, listed: tuple[str, ...] = ()) -> Offer:
    return Offer(f"id-{server}", server, list(names), set(names) | set(listed))


BARE = UnifiedNaming.BARE


def test_unique_names_are_bare_and_colliding_ones_prefixed_on_every_server():
    offers = [_offer("alpha", "echo", "picture"), _offer("beta", "echo", "add")]
    names = assign_names("tools", BARE, offers, ["alpha", "beta"])
    assert names == {
        ("id-alpha", "echo"): "alpha__echo",
        ("id-alpha", "picture"): "picture",
        ("id-beta", "echo"): "beta__echo",
        ("id-beta", "add"): "add",
    }
    # Prefixed: what it always was.
    prefixed = assign_names("tools", UnifiedNaming.PREFIXED, offers, ["alpha", "beta"])
    assert set(prefixed.values()) == {"alpha__echo", "alpha__picture", "beta__echo", "beta__add"}


def test_names_that_read_as_another_servers_prefixed_name_or_are_too_long_stay_prefixed():
    long_tool = "t" * 65
    offers = [_offer("alpha", "beta__echo", long_tool, "ok__fine"), _offer("beta", "x")]
    names = assign_names("tools", BARE, offers, ["alpha", "beta"])
    assert names[("id-alpha", "beta__echo")] == "alpha__beta__echo"
    assert names[("id-alpha", long_tool)] == unified_tool_name("alpha", long_tool)
    assert names[("id-alpha", "ok__fine")] == "ok__fine"  # no server is called "ok"
    prompts = assign_names("prompts", BARE, [_offer("alpha", "beta__p")], ["alpha", "beta"])
    assert prompts == {("id-alpha", "beta__p"): "alpha__beta__p"}


def test_a_disabled_tool_still_collides_and_a_left_out_servers_last_list_counts():
    # alpha's "echo" is disabled (listed, not offered): beta's echo stays prefixed, so
    # enabling it later renames nothing. gamma was left out of this answer with "add" listed.
    offers = [
        _offer("alpha", "picture", listed=("echo",)),
        _offer("beta", "echo", "add"),
        Offer("id-gamma", "gamma", (), {"add"}),
    ]
    names = assign_names("tools", BARE, offers, ["alpha", "beta", "gamma"])
    assert names == {
        ("id-alpha", "picture"): "picture",
        ("id-beta", "echo"): "beta__echo",
        ("id-beta", "add"): "beta__add",
    }
    assert bare_holders("tools", "add", offers, ["alpha", "beta", "gamma"]) == [
        "id-beta",
        "id-gamma",
    ]
    assert bare_holders("tools", "beta__add", offers, ["alpha", "beta", "gamma"]) == []


def test_a_session_keeps_the_names_it_was_shown_whatever_starts_or_stops():
    seen = SessionNames(BARE)
    servers = ["alpha", "beta"]
    first = assign_names("tools", BARE, [_offer("alpha", "echo")], servers, seen)
    assert first == {("id-alpha", "echo"): "echo"}
    # beta starts with an echo of its own: the session's "echo" still means alpha's.
    both = [_offer("alpha", "echo"), _offer("beta", "echo")]
    assert assign_names("tools", BARE, both, servers, seen) == {
        ("id-alpha", "echo"): "echo",
        ("id-beta", "echo"): "beta__echo",
    }
    # Without a session (2026-07-28) the names are a function of the lists: both prefixed.
    assert set(assign_names("tools", BARE, both, servers).values()) == {"alpha__echo", "beta__echo"}
    # alpha stops: beta's echo keeps the prefixed name the session was shown, and "echo"
    # does not come to mean beta's tool.
    assert assign_names("tools", BARE, [_offer("beta", "echo")], servers, seen) == {
        ("id-beta", "echo"): "beta__echo"
    }
    # A session shown the collision keeps the prefixed names when it ends.
    other = SessionNames(BARE)
    assign_names("tools", BARE, both, servers, other)
    assert assign_names("tools", BARE, [_offer("alpha", "echo")], servers, other) == {
        ("id-alpha", "echo"): "alpha__echo"
    }


def test_a_session_shown_too_many_names_gets_every_new_one_prefixed(monkeypatch):
    monkeypatch.setattr(SessionNames, "LIMIT", 2)
    seen = SessionNames(BARE)
    assign_names("tools", BARE, [_offer("alpha", "a", "b")], ["alpha"], seen)
    names = assign_names("tools", BARE, [_offer("alpha", "a", "b", "c")], ["alpha"], seen)
    assert names == {("id-alpha", "a"): "a", ("id-alpha", "b"): "b", ("id-alpha", "c"): "alpha__c"}
    assert len(seen.tools.shown) == 2


# --- end to end ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["handshake", "sse", "auto"])
async def test_bare_names_when_unique_prefixed_on_collision_and_prefixed_always_callable(
    live, engine, make_person, tmp_path, mode
):
    project = make_project(engine, make_person("owner"), tmp_path, ("alpha", "beta"))
    async with connect(live, project, mode) as client:
        names = await tool_names(client)
        assert {"picture", "sound", "alpha__echo", "beta__echo", "alpha__add"} <= names
        assert not names & {"echo", "add", "alpha__picture", "beta__picture"}
        assert await prompt_names(client) == {"alpha__greet", "beta__greet"}

        assert (await client.call_tool("picture", {})).content[-1].type == "image"
        # The prefixed name keeps working in bare mode (clients configured earlier).
        assert (await client.call_tool("alpha__picture", {})).content[-1].type == "image"
        assert await echo(client, "beta__echo", "to beta") == "to beta"
        ambiguous = await refused(client.call_tool("echo", {"text": "?"}))
        assert "more than one server" in ambiguous and "alpha__echo or beta__echo" in ambiguous
        assert "Unknown tool" in await refused(client.call_tool("nobody", {}))

        greeting = await client.get_prompt("beta__greet", {"name": "Ada"})
        assert "Ada" in greeting.messages[0].content.text
        assert "more than one server" in await refused(client.get_prompt("greet", {"name": "x"}))
    assert project.calls_to("alpha") == ["picture", "picture"]
    assert project.calls_to("beta") == ["echo"]


async def test_prefixed_is_the_default_and_answers_as_before(live, engine, make_person, tmp_path):
    project = make_project(engine, make_person("owner"), tmp_path, ("alpha",), naming=None)
    with db.session_scope(engine) as s:
        assert s.get(ProjectRow, project.id).unified_naming is UnifiedNaming.PREFIXED
    async with connect(live, project, "handshake") as session:
        names = await tool_names(session)
        assert {"alpha__picture", "alpha__echo"} <= names and "picture" not in names
        assert await prompt_names(session) == {"alpha__greet"}
        assert "<server>__<name>" in (session.instructions or "")
        assert "Unknown tool" in await refused(session.call_tool("picture", {}))
        with pytest.raises(MCPError, match="Unknown prompt"):
            await session.get_prompt("greet", {"name": "x"})


async def test_a_server_starting_later_does_not_rename_what_a_session_saw(
    live, engine, make_person, tmp_path
):
    project = make_project(engine, make_person("owner"), tmp_path, ("alpha",))
    url = unified_url(live, project.id)
    changed = Notifications("notifications/tools/list_changed")
    async with (
        connect(live, project, "handshake", message_handler=changed) as early,
        auto_client(url, project.key) as modern,
        modern.listen(tools_list_changed=True, prompts_list_changed=True) as subscription,
    ):
        assert {"echo", "picture"} <= await tool_names(early)
        assert await prompt_names(early) == {"greet"}
        assert "echo" in await tool_names(modern)
        assert "own names when one server offers them" in (early.instructions or "")
        await asyncio.sleep(0.2)  # the client opens its GET stream in the background

        add_fixture(engine, project, "beta", tmp_path)
        # Both eras are told before anything is named differently.
        await changed.first()
        assert isinstance(await first_event(subscription), ToolsListChanged)

        # The handshake session keeps "echo" = alpha's; beta's namesake comes prefixed.
        names = await tool_names(early)
        assert {"echo", "beta__echo", "picture"} <= names and "alpha__echo" not in names
        assert await prompt_names(early) == {"greet", "beta__greet"}
        assert await echo(early, "echo", "still alpha") == "still alpha"
        assert await echo(early, "alpha__echo", "prefixed alpha") == "prefixed alpha"
        assert await echo(early, "beta__echo", "beta") == "beta"
        prompt = await early.get_prompt("greet", {"name": "Ada"})
        assert "Ada" in prompt.messages[0].content.text

        # The session-less client's names are the function of the current lists.
        modern_names = await tool_names(modern)
        assert {"alpha__echo", "beta__echo", "picture"} <= modern_names
        assert "echo" not in modern_names
        assert "more than one server" in await refused(modern.call_tool("echo", {"text": "?"}))

        # A session that starts now sees the collision, and keeps what it saw when beta goes.
        async with connect(live, project, "handshake") as late:
            late_names = await tool_names(late)
            assert {"alpha__echo", "beta__echo"} <= late_names and "echo" not in late_names
            assert "more than one server" in await refused(late.call_tool("echo", {"text": "?"}))
            with db.session_scope(engine) as s:
                servers.toggle_server(
                    s, project.owner.actor, project.id, project.server_ids["beta"]
                )

            async def beta_gone() -> bool:
                return "beta__echo" not in await tool_names(late)

            await eventually(beta_gone, 10, "beta to leave the unified endpoint")
            late_names = await tool_names(late)
            assert "alpha__echo" in late_names and "echo" not in late_names
            assert await echo(late, "alpha__echo", "late") == "late"
        assert "echo" in await tool_names(early)

        # The modern client is told, and gets the bare name back.
        events = [await first_event(subscription) for _ in range(3)]
        assert {type(event) for event in events} >= {ToolsListChanged, PromptsListChanged}
        assert "echo" in await tool_names(modern)
        assert await echo(modern, "echo", "modern") == "modern"

    assert project.calls_to("alpha") == ["echo", "echo", "echo", "echo"]
    assert project.calls_to("beta") == ["echo"]


async def test_changing_the_setting_tells_open_sessions_before_the_names_change(
    live, engine, make_person, tmp_path
):
    owner = make_person("owner")
    project = make_project(engine, owner, tmp_path, ("alpha",))

    def set_naming(naming: str) -> None:
        with db.session_scope(engine) as s:
            projects.update_project(s, owner.actor, project.id, ProjectPatch(unified_naming=naming))

    tools_changed = Notifications("notifications/tools/list_changed")
    prompts_changed = Notifications("notifications/prompts/list_changed")

    async def on_message(item: Any) -> None:
        await tools_changed(item)
        await prompts_changed(item)

    async with connect(live, project, "handshake", message_handler=on_message) as session:
        assert "echo" in await tool_names(session)
        await asyncio.sleep(0.2)  # the client opens its GET stream in the background
        set_naming("prefixed")
        await tools_changed.first()
        await prompts_changed.first()
        names = await tool_names(session)
        assert "alpha__echo" in names and "echo" not in names
        assert await prompt_names(session) == {"alpha__greet"}
        set_naming("bare")
        await eventually(lambda: len(tools_changed.received) == 2, 10, "a second list_changed")
        assert "echo" in await tool_names(session)


async def test_a_bare_name_called_before_any_listing_resolves_and_sticks(
    live, engine, make_person, tmp_path
):
    project = make_project(engine, make_person("owner"), tmp_path, ("alpha",))
    # Another gateway process: nothing listed yet, the name is found by listing the servers.
    async with running_app(engine) as other:
        async with connect(other, project, "handshake") as session:
            assert await echo(session, "echo", "first") == "first"
            add_fixture(engine, project, "beta", tmp_path)
            await asyncio.sleep(0.3)  # the access change reaches the gateway
            # The session called "echo": it keeps meaning alpha's.
            assert await echo(session, "echo", "second") == "second"
            assert "echo" in await tool_names(session)
        await flushed(other)
    assert project.calls_to("alpha") == ["echo", "echo"]


# --- resources: the servers' own URIs, with bare names ------------------------------------------


@pytest.mark.parametrize("mode", ["handshake", "auto"])
async def test_one_server_bare_resource_uris_read_as_directly(
    live, engine, make_person, tmp_path, mode
):
    project = make_project(engine, make_person("owner"), tmp_path, ("beta",))
    async with connect(live, project, mode) as client:
        # Lists keep the unified URIs; the server's own URI is read too, and answered with it.
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert listed == {"mcp-orch:beta/fixture://greeting"}
        read = await client.read_resource("fixture://greeting")
        assert [(str(c.uri), c.text) for c in read.contents] == [
            ("fixture://greeting", "hello from the fixture")
        ]
        item = await client.read_resource("fixture://items/7")
        assert [(str(c.uri), c.text) for c in item.contents] == [("fixture://items/7", "item 7")]
        mapped = await client.read_resource("mcp-orch:beta/fixture://items/8")
        assert str(mapped.contents[0].uri) == "mcp-orch:beta/fixture://items/8"


async def test_two_servers_bare_resource_uris_go_to_the_one_that_offers_them(
    live, engine, make_person, tmp_path
):
    project = make_project(engine, make_person("owner"), tmp_path, ("alpha", "beta"))
    async with connect(live, project, "handshake") as session:
        note = await session.read_resource("fixture://own-note")
        assert [(str(c.uri), c.text) for c in note.contents] == [
            ("fixture://own-note", "a note of my own")
        ]
        owned = await session.read_resource("fixture://own/k1")  # alpha's template only
        assert [(str(c.uri), c.text) for c in owned.contents] == [("fixture://own/k1", "own k1")]
        # Both servers offer these: the error names the unified URIs to choose from.
        for uri in ("fixture://greeting", "fixture://items/3"):
            ambiguous = await refused(session.read_resource(uri))
            assert "more than one server" in ambiguous
            assert f"mcp-orch:alpha/{uri} or mcp-orch:beta/{uri}" in ambiguous
        assert "Unknown resource" in await refused(session.read_resource("fixture://nobody"))
        assert "Unknown resource" in await refused(session.read_resource("mcp-orch:gamma/x://y"))
        read = await session.read_resource("mcp-orch:beta/fixture://greeting")
        assert str(read.contents[0].uri) == "mcp-orch:beta/fixture://greeting"


async def test_prefixed_naming_accepts_unified_resource_uris_only(
    live, engine, make_person, tmp_path
):
    project = make_project(engine, make_person("owner"), tmp_path, ("alpha",), naming=None)
    async with connect(live, project, "handshake") as session:
        assert "Unknown resource" in await refused(session.read_resource("fixture://greeting"))
        read = await session.read_resource("mcp-orch:alpha/fixture://greeting")
        assert read.contents[0].text == "hello from the fixture"


def test_uri_templates_match_by_their_literal_parts_in_linear_time():
    assert matches_uri_template("test://template/{id}/data", "test://template/12/data")
    assert matches_uri_template("x://a{?q,r}", "x://a?q=1&r=2")
    assert matches_uri_template("fixture://greeting", "fixture://greeting")
    assert not matches_uri_template("fixture://greeting", "fixture://greetings")
    assert not matches_uri_template("ab{x}ba", "aba")  # the literals may not overlap
    assert not matches_uri_template("x://{a}/tail", "y://1/tail")
    assert not matches_uri_template(None, "x://")
    assert not matches_uri_template("x://" + "a" * 3000 + "{v}", "x://" + "a" * 3000)
    hostile = "{a}" + "a{b}" * 500 + "x"  # a backtracking pattern would never finish
    started = time.monotonic()
    assert not matches_uri_template(hostile, "a" * 2000)
    assert time.monotonic() - started < 0.5


# --- the setting: REST, UI, migration -----------------------------------------------------------


def test_owners_set_the_naming_through_rest_others_are_refused_bad_values_are_422(
    api_client, engine, make_person
):
    owner, developer, reporter = make_person("own"), make_person("dev"), make_person("rep")
    with db.session_scope(engine) as s:
        created = projects.create_project(s, owner.actor, "Rest naming")
        projects.add_member(s, owner.actor, created.id, developer.email, "developer")
        projects.add_member(s, owner.actor, created.id, reporter.email, "reporter")
    url = f"/api/projects/{created.id}"

    shown = api_client.get(url, headers=owner.headers)
    assert shown.status_code == 200 and shown.json()["unified_naming"] == "prefixed"
    for person in (developer, reporter):
        answer = api_client.patch(url, json={"unified_naming": "bare"}, headers=person.headers)
        assert answer.status_code == 403, answer.text
        assert "owner" in answer.json()["detail"]
    for bad in ("Bare", "shouty", "", 5, ["bare"], {"naming": "bare"}):
        answer = api_client.patch(url, json={"unified_naming": bad}, headers=owner.headers)
        assert answer.status_code == 422, (bad, answer.text)
        assert "unified_naming" in answer.json()["detail"]
    assert api_client.get(url, headers=owner.headers).json()["unified_naming"] == "prefixed"

    answer = api_client.patch(url, json={"unified_naming": "bare"}, headers=owner.headers)
    assert answer.status_code == 200 and answer.json()["unified_naming"] == "bare"
    assert api_client.get(url, headers=reporter.headers).json()["unified_naming"] == "bare"
    # Other fields leave it alone; null changes nothing.
    answer = api_client.patch(
        url, json={"description": "d", "unified_naming": None}, headers=owner.headers
    )
    assert answer.json()["unified_naming"] == "bare"
    with db.session_scope(engine) as s:
        assert s.get(ProjectRow, created.id).unified_naming is UnifiedNaming.BARE
        updates = [
            a for a in s.exec(sa.select(Activity)).scalars() if a.action == "project.updated"
        ]
    assert any(a.details == {"changed": ["unified_naming"]} for a in updates)


async def test_the_settings_page_sets_the_naming_for_owners_only(engine, make_person):
    owner, reporter = make_person("owner"), make_person("reporter")
    with db.session_scope(engine) as s:
        created = projects.create_project(s, owner.actor, "Hangar")
        projects.add_member(s, owner.actor, created.id, reporter.email, "reporter")
    path = f"/projects/{created.id}/settings"

    def stored() -> UnifiedNaming:
        with db.session_scope(engine) as s:
            return s.get(ProjectRow, created.id).unified_naming

    watcher = state_for(ProjectSettingsState, path, reporter.token)
    await run_event(ProjectSettingsState.load, watcher)
    assert watcher.unified_naming == "prefixed"
    events = await run_event(ProjectSettingsState.set_naming, watcher, "bare")
    assert len(error_toasts(events)) == 1 and stored() is UnifiedNaming.PREFIXED

    state = state_for(ProjectSettingsState, path, owner.token)
    await run_event(ProjectSettingsState.load, state)
    events = await run_event(ProjectSettingsState.set_naming, state, "loud")
    (toast,) = error_toasts(events)
    assert "prefixed, bare" in toast and stored() is UnifiedNaming.PREFIXED
    assert state.saving_switch == ""

    await run_event(ProjectSettingsState.set_naming, state, "bare")
    assert state.unified_naming == "bare" and stored() is UnifiedNaming.BARE
    assert state.saving_switch == ""
    await run_event(ProjectSettingsState.set_naming, state, "prefixed")
    assert state.unified_naming == "prefixed" and stored() is UnifiedNaming.PREFIXED


def test_migration_0005_gives_existing_projects_prefixed_and_goes_back(
    database_url: str,  # noqa: F811 (test_migrations' fixture: an empty SQLite / PostgreSQL)
):
    engine = sa.create_engine(_normalise_database_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0004")
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO projects (id, name, description, allow_anonymous, "
                    "unified_enabled, created_at, updated_at) VALUES "
                    "(:id, 'old', '', false, true, :now, :now)"
                ),
                {"id": uuid.uuid4().hex, "now": "2026-01-01 00:00:00"},
            )
        assert upgrade_to_head(database_url).after == head_revision()
        with engine.connect() as connection:
            values = connection.execute(sa.text("SELECT unified_naming FROM projects")).scalars()
            assert list(values) == ["prefixed"]
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0004")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("projects")}
        assert "unified_naming" not in columns and "unified_enabled" in columns
    finally:
        engine.dispose()
