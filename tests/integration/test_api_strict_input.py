"""Input past the bounds of numbers, timestamps and JSON is a 422 that says why, never a 500,
on every route: integers past 64 bits, timestamps near year 1 or 9999, NaN / Infinity,
duplicate keys, lone surrogates and deep nesting in request bodies.

The last two tests guard the class: every integer and timestamp parameter of every route
declares bounds, and every REST route parses its body strictly.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import datetime

import pytest
from fastapi.routing import APIRoute

from mcp_orch_app.api.app import create_api
from mcp_orch_app.api.strict_json import StrictJSONRoute
from tests.helpers import ok, refused
from tests.integration.test_api_bad_input import Site

HUGE = "10289587424044720128"  # past 2**63


@pytest.fixture
def site(api_client, make_person, engine) -> Site:
    return Site(api_client, make_person, engine)


QUERY_CASES = [
    ("/api/admin/users?offset=" + HUGE, ["offset", "between 0 and 2147483647"]),
    ("/api/admin/users?limit=" + HUGE, ["limit"]),
    ("{p}/activity?before_id=10000000000000000001", ["before_id"]),
    ("/api/teams/{t}/activity?before_id=10000000000000000001", ["before_id"]),
    ("{p}/tool-calls/metrics?since=0001-01-01T00:00:00Z", ["since", "1970"]),
    ("{p}/tool-calls/metrics?until=9999-12-31T23:59:59-05:00", ["until", "9000"]),
    ("{p}/tool-calls?since=0001-01-01T00:00:00%2B05:00", ["since", "1970"]),
    ("{p}/tool-calls?min_ms=1e20", ["min_ms"]),
    ("{p}/tool-calls?min_ms=100000000000000000000", ["min_ms"]),
    ("{p}/tool-calls?max_ms=-1", ["max_ms"]),
    ("{p}/tool-calls?newer_than=" + HUGE, ["newer_than"]),
    ("{p}/tool-calls?limit=" + HUGE, ["limit"]),
    ("{p}/sessions?limit=" + HUGE, ["limit"]),
    ("{p}/server-logs?since=0001-01-01T00:00:00Z", ["since"]),
    ("{p}/server-logs?limit=" + HUGE, ["limit"]),
    ("/api/workers/history?limit=" + HUGE, ["limit"]),
]


@pytest.mark.parametrize(("url", "words"), QUERY_CASES, ids=[c[0] for c in QUERY_CASES])
def test_numbers_and_times_out_of_range_are_422(site, url, words):
    path = url.format(p=site.p(), t=site.tid)
    refused(site.client.get(path, headers=site.admin.headers), 422, *words)


@pytest.mark.parametrize(
    "url",
    [
        "/api/admin/users?q=a%00b",
        "/api/projects?q=%00",
        "{p}/tool-calls?q=x%00&tool=y",
        "{p}/tool-calls?tool=%00",
        "{p}/activity?action=%00",
        "/api/projects/%00/members",
    ],
)
def test_a_nul_character_in_a_parameter_is_422(site, url):
    # PostgreSQL text cannot hold NUL: before, the driver raised and the answer was a 500.
    path = url.format(p=site.p())
    refused(site.client.get(path, headers=site.admin.headers), 422, "NUL")


def test_timestamps_in_range_still_work(site):
    path = site.p("/tool-calls/metrics?since=1970-01-01T00:00:00Z&until=8999-12-31T00:00:00Z")
    ok(site.client.get(path, headers=site.admin.headers))
    ok(
        site.client.get(
            site.p("/tool-calls?min_ms=0&max_ms=2147483647"), headers=site.admin.headers
        )
    )


def test_an_api_key_expiry_far_in_the_future_is_422_not_500(site):
    body = {"name": "forever", "expires_at": "9999-12-31T23:59:59-05:00"}
    response = site.client.post(site.p("/api-keys"), json=body, headers=site.owner.headers)
    refused(response, 422, "expires_at", "9000")


BODY_CASES = [
    pytest.param('{"name": "\\ud800"}', ["surrogate"], id="lone_surrogate"),
    pytest.param('{"name": "ok", "description": "\\udfff"}', ["surrogate"], id="low_surrogate"),
    pytest.param('{"\\ud800": 1, "name": "x"}', ["surrogate"], id="surrogate_key"),
    pytest.param('{"name": "x", "description": NaN}', ["NaN"], id="nan"),
    pytest.param('{"name": "x", "n": Infinity}', ["Infinity"], id="infinity"),
    pytest.param('{"name": "x", "n": -Infinity}', ["Infinity"], id="minus_infinity"),
    pytest.param('{"name": "a", "name": "b"}', ["twice"], id="duplicate_key"),
    pytest.param("[" * 65 + "]" * 65, ["nested", "64"], id="nested_65"),
    pytest.param('{"a":' * 100000 + "1" + "}" * 100000, ["nested"], id="nested_100000"),
    pytest.param(b'{"name": "\xff"}', ["UTF-8"], id="not_utf8"),
    pytest.param('{"name": "a\\u0000b"}', ["NUL"], id="nul_in_string"),
    pytest.param('{"name": "x", "a\\u0000": 1}', ["NUL"], id="nul_in_key"),
]


@pytest.mark.parametrize(("body", "words"), BODY_CASES)
def test_non_strict_json_bodies_are_422_and_create_nothing(site, body, words):
    before = site.snapshot()
    response = site.client.post(
        "/api/projects",
        content=body,
        headers={**site.owner.headers, "Content-Type": "application/json"},
    )
    refused(response, 422, "not valid JSON", *words)
    assert site.snapshot() == before


def test_a_lone_surrogate_in_a_live_tool_call_is_422(site):
    response = site.client.post(
        site.p(f"/servers/{site.sid}/tools/get_current_time/call"),
        content='{"arguments": {"timezone": "\\ud800"}}',
        headers={**site.owner.headers, "Content-Type": "application/json"},
    )
    refused(response, 422, "surrogate")


def test_a_server_import_at_the_depth_limit_is_still_parsed(site):
    nested: object = "leaf"
    for _ in range(60):
        nested = {"n": nested}
    document = {"mcpServers": {"deep": {"command": "uvx", "args": ["x"], "notes": nested}}}
    response = site.client.post(
        site.p("/servers/import"), content=json.dumps(document), headers=site.owner.headers
    )
    assert response.status_code < 500, response.text


# --- the class -------------------------------------------------------------------------------


def _api_routes() -> list[APIRoute]:
    """Every route of the app, also those of included routers (FastAPI nests them)."""
    found, pending = [], list(create_api().routes)
    while pending:
        route = pending.pop()
        if isinstance(route, APIRoute):
            found.append(route)
        elif getattr(route, "original_router", None) is not None:
            pending.extend(route.original_router.routes)
    assert len(found) > 50, "the route walk missed the routers"
    return found


def _type_and_metadata(field) -> tuple[object, list]:
    """The parameter's type without Optional/Annotated, and all its constraint objects."""
    annotation, metadata = field.field_info.annotation, list(field.field_info.metadata)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:
        metadata += list(annotation.__metadata__)
        annotation = typing.get_args(annotation)[0]
    return annotation, metadata


def test_every_integer_and_timestamp_parameter_of_every_route_is_bounded():
    unbounded = []
    for route in _api_routes():
        for field in route.dependant.query_params + route.dependant.path_params:
            base, metadata = _type_and_metadata(field)
            if base in (int, float):
                low = any(hasattr(m, "ge") or hasattr(m, "gt") for m in metadata)
                high = any(hasattr(m, "le") or hasattr(m, "lt") for m in metadata)
                if not (low and high):
                    unbounded.append(f"{route.path} {field.name}")
            if base is datetime:
                names = [getattr(getattr(m, "func", None), "__name__", "") for m in metadata]
                if "_bounded_timestamp" not in names:
                    unbounded.append(f"{route.path} {field.name} (timestamp)")
    assert unbounded == []


def test_every_rest_route_parses_its_body_strictly():
    loose = [r.path for r in _api_routes() if not isinstance(r, StrictJSONRoute)]
    assert [p for p in loose if p.startswith("/api/") and "/docs" not in p] == []
