"""The OpenAPI document at /api/openapi.json, made to describe what the API really answers.

FastAPI's generated document says a 422 body is a list of validation errors and lists no other
refusal. Every error of this API is ``{"detail": "<a sentence>"}`` (api/errors.py), so this
module rewrites the document once, when it is first generated:

- every refusal is :data:`ERROR_SCHEMA` (``ErrorOut``); FastAPI's HTTPValidationError is gone;
- each operation lists the refusals it can give, from one rule set (:func:`refusals_of`):
  401 for operations that take a bearer token; 403 for those that act on projects, teams,
  servers, users or the worker (a role or the administrator flag can be missing); 404 where
  the path names something; 409 for the writes that can collide (names, last owner, a run in
  progress); 413 for operations with a body (the size limit of the REST family); 422 for
  operations with parameters or a body; 429 for login (the throttle); and what a route adds in
  its decorator with ``responses=refusals(...)`` (e.g. 502/503/504 of the live operations).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

ERROR_REF = "#/components/schemas/ErrorOut"


class ErrorOut(BaseModel):
    """Every refusal: one sentence a person can act on."""

    detail: str


_REASONS = {
    401: "Not logged in, or the session ended (`WWW-Authenticate: Bearer`).",
    403: "Logged in, but the role or administrator flag this needs is missing.",
    404: "Nothing with that id here (or not visible to you).",
    409: "Conflicts with the current state (a name in use, the last owner, a run in progress).",
    413: "The request body is larger than the limit of this route family.",
    422: "A parameter or the body is not valid; `detail` names it.",
    429: "Too many failed logins; wait for `Retry-After` seconds.",
    502: "The MCP server answered with an error or could not be reached.",
    503: "This process runs no gateway or worker.",
    504: "The MCP server did not answer within its timeout.",
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route decorator: refusals this route adds to the rule set."""
    return {code: {"model": ErrorOut, "description": _REASONS.get(code, "")} for code in codes}


_WRITES = {"post", "put", "patch", "delete"}
# Areas whose operations check a role or the administrator flag.
_ROLE_CHECKED = ("/api/projects", "/api/teams", "/api/admin", "/api/workers")
# Writes that can collide with the current state (see the services' Conflict refusals).
_CONFLICTS = ("/api/projects", "/api/teams", "/api/admin", "/api/auth/signup", "/api/workers")


def refusals_of(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    codes: set[int] = set()
    authenticated = bool(operation.get("security"))
    has_body = "requestBody" in operation
    if authenticated:
        codes.add(401)
        if path.startswith(_ROLE_CHECKED):
            codes.add(403)
    if "{" in path:
        codes.add(404)
    if method in _WRITES and path.startswith(_CONFLICTS):
        codes.add(409)
    if has_body:
        codes.update((413, 422))
    if operation.get("parameters"):
        codes.add(422)
    if path == "/api/auth/login":
        codes.update((401, 429))  # wrong credentials; the throttle
    if path == "/api/auth/signup":
        codes.update((403, 409))  # sign-up closed; the email has an account
    return codes


def _error_response(code: int) -> dict[str, Any]:
    description = _REASONS.get(code) or HTTPStatus(code).phrase
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if code == 429:
        response["headers"] = {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        }
    if code == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def describe_refusals(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorOut"] = ErrorOut.model_json_schema()
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            for code in sorted(declared | refusals_of(path, method, operation)):
                responses[str(code)] = _error_response(code)
    return document


def install_openapi(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            document = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=api.routes,
            )
            api.openapi_schema = describe_refusals(document)
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
