"""The security headers middleware: every answer gets them; HTML pages get their inline
scripts' hashes (also when the page is served gzip-encoded), nothing else does."""

from __future__ import annotations

import base64
import gzip
import hashlib

from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mcp_orch_app.api.security_headers import SecurityHeadersMiddleware

PAGE = (
    b"<html><head><script>window.a = 1;</script><script src='/assets/x.js'></script>"
    b'<script type="module">import "/assets/y.js";</script></head><body></body></html>'
)


def _sha(text: bytes) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text).digest()).decode()}'"


def _client() -> TestClient:
    async def page(_request):
        return HTMLResponse(PAGE)

    async def zipped(_request):
        return Response(
            gzip.compress(PAGE),
            media_type="text/html",
            headers={"content-encoding": "gzip"},
        )

    async def data(_request):
        return JSONResponse({"ok": True})

    async def framed_ok(_request):
        return JSONResponse({}, headers={"x-frame-options": "SAMEORIGIN"})

    app = Starlette(
        routes=[
            Route("/page", page),
            Route("/zipped", zipped),
            Route("/data", data),
            Route("/own", framed_ok),
        ]
    )
    app.add_middleware(SecurityHeadersMiddleware)
    return TestClient(app)


def test_every_answer_gets_the_headers():
    with _client() as client:
        for path in ("/page", "/zipped", "/data", "/missing"):
            headers = client.get(path).headers
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-content-type-options"] == "nosniff"


def test_html_pages_get_exactly_their_inline_scripts_hashed():
    expected = [_sha(b"window.a = 1;"), _sha(b'import "/assets/y.js";')]
    with _client() as client:
        for path in ("/page", "/zipped"):
            response = client.get(path)
            assert response.content == PAGE  # the body passes unchanged
            policy = response.headers["content-security-policy"]
            script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
            assert script_src == "script-src 'self' 'unsafe-eval' " + " ".join(expected)
            assert "unsafe-inline" not in script_src
        data_policy = client.get("/data").headers["content-security-policy"]
        assert "sha256" not in data_policy


def test_a_header_the_route_set_is_kept():
    with _client() as client:
        assert client.get("/own").headers["x-frame-options"] == "SAMEORIGIN"


def test_the_app_answers_carry_the_headers():
    from mcp_orch_app.api.app import create_api

    with TestClient(create_api()) as client:
        for path in ("/api/openapi.json", "/api/auth/me", "/projects/x/servers/y/mcp"):
            headers = client.get(path).headers
            assert headers["x-frame-options"] == "DENY", path
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        docs = client.get("/api/docs").headers["content-security-policy"]
        assert "https://cdn.jsdelivr.net" in docs


async def test_a_page_the_server_sends_by_path_is_hashed_too(tmp_path):
    """Granian serves files with the ``http.response.pathsend`` extension: no body passes."""
    page = tmp_path / "index.html"
    page.write_bytes(PAGE)
    app = SecurityHeadersMiddleware(FileResponse(page, media_type="text/html"))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "extensions": {"http.response.pathsend": {}},
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    policy = dict(sent[0]["headers"])[b"content-security-policy"].decode()
    assert _sha(b"window.a = 1;") in policy


def test_not_modified_answers_get_no_policy(tmp_path):
    from starlette.staticfiles import StaticFiles

    (tmp_path / "index.html").write_bytes(PAGE)
    app = SecurityHeadersMiddleware(StaticFiles(directory=tmp_path, html=True))
    client = TestClient(app)  # no lifespan: StaticFiles serves HTTP only
    first = client.get("/")
    assert _sha(b"window.a = 1;") in first.headers["content-security-policy"]
    again = client.get("/", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert "content-security-policy" not in again.headers
    assert again.headers["x-frame-options"] == "DENY"
