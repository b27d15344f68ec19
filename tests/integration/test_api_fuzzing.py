"""schemathesis over /api/openapi.json of the real REST app on real data, on SQLite and
PostgreSQL, as an administrator and as a reporter of another user's project.

Every operation of the document gets generated requests (bodies, parameters, ids of things that
exist and of things that do not); each response must not be a server error, must match the
schema the document declares for its status, and its status must be one the document lists.

Bounded for CI: ``CI=true`` runs 5 examples per operation and role (about 700 requests per
backend), otherwise 15 (``MCP_ORCH_FUZZ_EXAMPLES`` overrides). The test prints the number of
requests sent and the failures found. Nothing is excluded: the run revives the two logins
before every request, because a generated ``POST /api/auth/logout`` (or a password change, a
deactivation) would otherwise end them and every later request would only test the 401.

The gateway does not run in this app (the live operations answer their documented 503); their
success paths are covered by tests/integration/test_live_operations.py.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update
from sqlmodel import Session

from mcp_orch_app import db
from mcp_orch_app.api.app import create_api
from mcp_orch_app.models import LoginSession, User
from mcp_orch_app.services import api_keys, projects, servers, teams
from mcp_orch_app.services.schemas import ApiKeyIn, ServerIn, TeamIn
from tests.helpers import FIXTURE_SERVER

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


def _examples() -> int:
    if os.environ.get("MCP_ORCH_FUZZ_EXAMPLES"):
        return int(os.environ["MCP_ORCH_FUZZ_EXAMPLES"])
    return 5 if os.environ.get("CI") == "true" else 15


def _build_data(engine, make_person):
    """An owner's project with servers, a key, a team; an admin; a reporter of that project."""
    owner = make_person("Olivia")
    admin = make_person("Ada", is_admin=True)
    reporter = make_person("Rita")
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "Apollo")
        pid = str(project.id)
        fixture = servers.create_server(
            s,
            owner.actor,
            pid,
            ServerIn(name="fixture", command="python", args=[str(FIXTURE_SERVER)], env={"K": "v"}),
        )
        servers.create_server(
            s,
            owner.actor,
            pid,
            ServerIn(name="remote", transport="http", url="http://127.0.0.1:9/"),
        )
        api_keys.create_api_key(s, owner.actor, pid, ApiKeyIn(name="laptop"))
        key = api_keys.create_api_key(s, owner.actor, pid, ApiKeyIn(name="desktop"))
        team = teams.create_team(s, owner.actor, TeamIn(name="Ops"))
        projects.add_member(s, owner.actor, pid, reporter.email, "reporter")
    ids = {
        "project_id": pid,
        "server_id": str(fixture.id),
        "team_id": str(team.id),
        "user_id": str(reporter.id),
        "key_id": str(key.id),
        "tool_name": "echo",
    }
    return admin, reporter, ids


def _revive(engine, people) -> None:
    with Session(engine) as s:
        for person in people:
            s.execute(
                update(LoginSession)
                .where(LoginSession.id == person.actor.login_session_id)
                .values(revoked_at=None)
            )
            s.execute(update(User).where(User.id == person.id).values(is_active=True))
        s.commit()


def _fuzz_operation(operation, role, person, ids, revive, sent: Counter, failures: list) -> None:
    documented = set(operation.definition.raw.get("responses", {}))

    @given(case=operation.as_strategy(), real_ids=st.booleans())
    @settings(
        max_examples=_examples(),
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case, real_ids):
        revive()
        if real_ids:
            # Generated ids almost never exist; half the cases name the data that does.
            for name in list(case.path_parameters or {}):
                if name in ids:
                    case.path_parameters[name] = ids[name]
        response = case.call(headers=person.headers)
        sent[role] += 1
        checks = CHECKS
        if response.status_code == 503 and "503" in documented:
            # This in-process app runs no gateway and no worker: the documented 503 is the
            # right answer here (the live operations are tested in test_live_operations.py).
            checks = [response_schema_conformance, status_code_conformance]
        try:
            case.validate_response(response, checks=checks, headers=person.headers)
        except (Failure, FailureGroup) as exc:
            failures.append(f"{role} {operation.label} -> {response.status_code}: {exc}")

    check()


def test_the_rest_api_answers_as_its_openapi_document_says(engine, make_person, capsys):
    admin, reporter, ids = _build_data(engine, make_person)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_api())
    sent: Counter[str] = Counter()
    failures: list[str] = []

    def revive() -> None:
        _revive(engine, (admin, reporter))

    for result in schema.get_all_operations():
        operation = result.ok()
        for role, person in (("admin", admin), ("reporter", reporter)):
            _fuzz_operation(operation, role, person, ids, revive, sent, failures)

    with capsys.disabled():
        print(
            f"\nschemathesis: {sum(sent.values())} requests ({dict(sent)}), "
            f"{len(failures)} failures"
        )
    assert failures == [], "\n\n".join(failures[:20])


@pytest.fixture(autouse=True)
def _quiet_gateway_logs(caplog):
    caplog.set_level("ERROR")
