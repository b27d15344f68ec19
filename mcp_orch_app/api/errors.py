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


_BOUND_ERRORS = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def _parameter_bounds(request: Request, name: str) -> tuple[object, object] | None:
    """(low, high) that the matched route declares for query/path parameter ``name``."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return None
    for field in dependant.query_params + dependant.path_params:
        if field.alias == name or field.name == name:
            low = next((m.ge for m in field.field_info.metadata if hasattr(m, "ge")), None)
            high = next((m.le for m in field.field_info.metadata if hasattr(m, "le")), None)
            return (low, high) if low is not None and high is not None else None
    return None


def _describe_validation(exc: RequestValidationError, request: Request | None = None) -> str:
    parts = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        if error.get("type") in _BOUND_ERRORS and request is not None and len(loc) == 2:
            bounds = _parameter_bounds(request, str(loc[1]))
            if bounds is not None:
                given = str(error.get("input"))[:40]
                parts.append(f"{loc[1]} must be between {bounds[0]} and {bounds[1]}, got {given}")
                continue
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            return f"The request body is not valid JSON: {ctx.get('error', error['msg'])}."
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc)
        message = error.get("msg", "invalid value")
        # Our own validators' ValueError messages are complete sentences already.
        message = message.removeprefix("Value error, ")
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
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _describe_validation(exc, request)}, status_code=422)

    @api.exception_handler(SecretDecryptionError)
    async def _secret_error(_request: Request, exc: SecretDecryptionError) -> JSONResponse:
        logger.error("secret decryption failed: %s", exc)
        return JSONResponse({"detail": str(exc)}, status_code=500)
