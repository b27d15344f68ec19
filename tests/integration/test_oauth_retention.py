"""The worker's retention job clears what OAuth leaves behind (worker/retention.py): expired
access tokens, consent requests and codes expired for a day, and dead grants (revoked, or whose
refresh token expired with no access token left); everything alive stays and keeps working."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, select

from mcp_orch_app import db
from mcp_orch_app.models.oauth import (
    OAuthAccessToken,
    OAuthAuthorizationCode,
    OAuthAuthorizationRequest,
    OAuthClient,
    OAuthGrant,
)
from mcp_orch_app.models.types import utcnow
from mcp_orch_app.security.tokens import hash_token
from mcp_orch_app.services import oauth, projects
from mcp_orch_app.worker.retention import OAUTH_GRACE, delete_expired_oauth

HOUR = timedelta(hours=1)


def _ids(engine, model) -> set[uuid.UUID]:
    with Session(engine) as s:
        return set(s.exec(select(model.id)).all())


def test_expired_oauth_rows_and_dead_grants_go_and_live_ones_stay(engine, make_person):
    owner = make_person("owner")
    now = utcnow()
    long_ago, recently = now - OAUTH_GRACE - HOUR, now - HOUR
    with db.session_scope(engine) as s:
        project = projects.create_project(s, owner.actor, "oauth")
        client = OAuthClient(client_id="c-1", client_name="app", redirect_uris=["http://x/cb"])
        s.add(client)
        s.flush()

        def grant(**values) -> OAuthGrant:
            row = OAuthGrant(
                client_id=client.id, user_id=owner.id, project_id=project.id, resource="r", **values
            )
            s.add(row)
            s.flush()
            return row

        def token(grant_row: OAuthGrant, expires, secret: str = "") -> OAuthAccessToken:
            row = OAuthAccessToken(
                token_hash=hash_token(secret or uuid.uuid4().hex),
                grant_id=grant_row.id,
                expires_at=expires,
            )
            s.add(row)
            s.flush()
            return row

        live = grant(refresh_expires_at=now + 30 * OAUTH_GRACE)
        live_token = token(live, now + HOUR, "moa_live")
        expired_token = token(live, now - timedelta(seconds=1))
        # The refresh token ran out long ago, but an access token is still good: kept for now.
        ending = grant(refresh_expires_at=long_ago)
        ending_token = token(ending, now + HOUR)
        # The refresh token ran out long ago and no access token is left: dead.
        dead = grant(refresh_expires_at=long_ago)
        # Its refresh ran out only recently: kept for the grace period.
        just_ended = grant(refresh_expires_at=recently)
        revoked_long_ago = grant(refresh_expires_at=now + HOUR, revoked_at=long_ago)
        revoked_recently = grant(refresh_expires_at=now + HOUR, revoked_at=recently)

        def code(expires) -> OAuthAuthorizationCode:
            row = OAuthAuthorizationCode(
                code_hash=uuid.uuid4().hex,
                client_id=client.id,
                user_id=owner.id,
                project_id=project.id,
                resource="r",
                redirect_uri="http://x/cb",
                code_challenge="c",
                expires_at=expires,
            )
            s.add(row)
            s.flush()
            return row

        old_code, recent_code, open_code = code(long_ago), code(recently), code(now + HOUR)

        def request(expires) -> OAuthAuthorizationRequest:
            row = OAuthAuthorizationRequest(
                request_hash=uuid.uuid4().hex,
                client_id=client.id,
                redirect_uri="http://x/cb",
                code_challenge="c",
                issuer="http://x",
                expires_at=expires,
            )
            s.add(row)
            s.flush()
            return row

        old_request, recent_request, open_request = (
            request(long_ago),
            request(recently),
            request(now + HOUR),
        )
        scope = dict(locals())
        ids = {name: row.id for name, row in scope.items() if hasattr(row, "id")}

    deleted = delete_expired_oauth(batch_size=2, now=now, engine=engine)

    assert deleted == {
        "oauth_access_tokens": 1,
        "oauth_grants": 2,
        "oauth_authorization_codes": 1,
        "oauth_authorization_requests": 1,
    }
    assert _ids(engine, OAuthAccessToken) == {ids["live_token"], ids["ending_token"]}
    assert ids["expired_token"] not in _ids(engine, OAuthAccessToken)
    assert _ids(engine, OAuthGrant) == {
        ids[name] for name in ("live", "ending", "just_ended", "revoked_recently")
    }
    assert {ids["dead"], ids["revoked_long_ago"]}.isdisjoint(_ids(engine, OAuthGrant))
    assert _ids(engine, OAuthAuthorizationCode) == {ids["recent_code"], ids["open_code"]}
    assert ids["old_code"] not in _ids(engine, OAuthAuthorizationCode)
    assert _ids(engine, OAuthAuthorizationRequest) == {ids["recent_request"], ids["open_request"]}
    assert ids["old_request"] not in _ids(engine, OAuthAuthorizationRequest)
    # The client's registration is not the job's business; the live token still works.
    assert _ids(engine, OAuthClient) == {ids["client"]}
    with db.session_scope(engine) as s:
        assert oauth.load_access_token(s, "moa_live") is not None
    # A second pass finds nothing more.
    assert set(delete_expired_oauth(now=now, engine=engine).values()) == {0}
