"""Error responses: always ``{"detail": "<something a person can act on>"}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mcp_orch_app.security.secrets import SecretDecryptionError
from mcp_orch_app.services.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ServiceError,
    TooManyAttempts,
)

logger = logging.getLogger(__name__)

_STATUS = {
    NotAuthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TooManyAttempts: 429,
}


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            return f"The request body is not valid JSON: {ctx.get('error', error['msg'])}."
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc)
        message = error.get("msg", "invalid value")
        if error.get("type") == "missing":
            if not where and tuple(error.get("loc", ())) == ("body",):
                return "The request body is missing; send a JSON object."
            message = "this field is required"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "The request is not valid."


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, TooManyAttempts):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse({"detail": exc.message}, status_code=status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _describe_validation(exc)}, status_code=422)

    @api.exception_handler(SecretDecryptionError)
    async def _secret_error(_request: Request, exc: SecretDecryptionError) -> JSONResponse:
        logger.error("secret decryption failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)
