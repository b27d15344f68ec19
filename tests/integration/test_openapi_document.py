"""The OpenAPI document describes the API as it answers: one error shape, the refusals of each
operation, and the limits the routes enforce. (test_api_fuzzing.py checks real answers against
it; these tests pin the parts a client generator relies on.)"""

from __future__ import annotations

import json

import pytest

from tests.helpers import ok, refused

ERROR = {"$ref": "#/components/schemas/ErrorOut"}


@pytest.fixture
def document(api_client):
    return ok(api_client.get("/api/openapi.json"))


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_refusal_is_a_detail_string(document):
    assert "HTTPValidationError" not in json.dumps(document)
    assert document["components"]["schemas"]["ErrorOut"]["properties"]["detail"]["type"] == (
        "string"
    )
    for _path, _method, operation in _operations(document):
        for code, response in operation["responses"].items():
            if int(code) >= 400:
                assert response["content"]["application/json"]["schema"] == ERROR


def test_the_422_body_is_what_the_document_says(api_client, make_person, document):
    admin = make_person("admin", is_admin=True)
    detail = refused(api_client.get("/api/admin/users?limit=0", headers=admin.headers), 422)
    assert detail == "limit must be between 1 and 500, got 0"
    assert "422" in document["paths"]["/api/admin/users"]["get"]["responses"]


def test_refusals_are_listed_per_operation(document):
    paths = document["paths"]
    login = paths["/api/auth/login"]["post"]["responses"]
    assert {"401", "413", "422", "429"} <= set(login)
    assert "Retry-After" in login["429"]["headers"]
    assert {"401", "403", "404", "409", "413", "422"} <= set(
        paths["/api/projects/{project_id}/members"]["post"]["responses"]
    )
    call = paths["/api/projects/{project_id}/servers/{server_id}/tools/{tool_name}/call"]["post"]
    assert {"401", "404", "502", "503", "504"} <= set(call["responses"])
    # Every operation that takes a token documents the 401; none is left with only a 200.
    for path, method, operation in _operations(document):
        if operation.get("security"):
            assert "401" in operation["responses"], f"{method} {path}"
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in operation["responses"], f"{method} {path}"


def test_enforced_limits_are_declared(document):
    params = {
        p["name"]: p["schema"]
        for p in document["paths"]["/api/projects/{project_id}/tool-calls"]["get"]["parameters"]
    }
    limit = params["limit"]["anyOf"][0]
    assert (limit["minimum"], limit["maximum"]) == (1, 200)
    assert params["min_ms"]["anyOf"][0]["maximum"] == 2**31 - 1
    assert params["newer_than"]["anyOf"][0]["maximum"] == 2**63 - 1
    assert params["q"]["maxLength"] == 200 or params["q"]["anyOf"][0].get("maxLength") == 200
    users = {
        p["name"]: p["schema"] for p in document["paths"]["/api/admin/users"]["get"]["parameters"]
    }
    assert users["offset"]["maximum"] == 2**31 - 1
    worker = document["components"]["schemas"]["WorkerConfigIn"]["properties"]
    assert (worker["interval_seconds"]["minimum"], worker["interval_seconds"]["maximum"]) == (
        60,
        3600,
    )
