"""One table from the error tree to HTTP status, and RFC 9457 problem details.

Every FastAPI app of iotsec calls :func:`install` so that an :class:`IotSecError`, a malformed
request and an unexpected failure all answer ``application/problem+json`` and never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from iotsec import errors as e

log = logging.getLogger("iotsec.http")

# Most specific class first: the first isinstance match wins.
STATUS: list[tuple[type[e.IotSecError], int]] = [
    (e.AuthenticationError, 401),
    (e.PolicyError, 403),
    (e.NotFoundError, 404),
    (e.ConflictError, 409),
    (e.UnsupportedError, 415),
    (e.DecodeError, 400),
    (e.ValidationError, 400),
    (e.VerifyError, 401),
    (e.ConfigError, 500),
    (e.IotSecError, 400),
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
# an OpenAPI response object for routes to list under their error statuses
PROBLEM_RESPONSE: dict[str, Any] = {
    "description": "RFC 9457 problem details",
    "content": {PROBLEM_MEDIA_TYPE: {"schema": {"type": "object"}}},
}


def status_for(err: e.IotSecError) -> int:
    for cls, status in STATUS:
        if isinstance(err, cls):
            return status
    return 400


def problem(
    status: int, title: str, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _allowed(req: Request) -> str:
    """The methods of every route on the request's path (Starlette's own 405 names only the first
    route that matched the path, though one path may have a route per method)."""
    methods: set[str] = set()
    for route in req.app.router.routes:
        match, _ = route.matches(req.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def _document_400_not_422(app: FastAPI) -> None:
    """FastAPI documents a 422 "Validation Error" on every operation with parameters; the handler
    below answers such requests 400 with problem details. The OpenAPI description says so."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for item in schema.get("paths", {}).values():
            for op in item.values():
                responses = op.get("responses", {}) if isinstance(op, dict) else {}
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", dict(PROBLEM_RESPONSE))
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    _document_400_not_422(app)

    @app.exception_handler(e.IotSecError)
    async def _iotsec(_req: Request, err: e.IotSecError) -> JSONResponse:
        extra: dict[str, Any] = {"reason": err.reason}
        if isinstance(err, e.ValidationError):
            extra["path"] = e.format_path(err.path)
        return problem(status_for(err), type(err).__name__, str(err), **extra)

    @app.exception_handler(RequestValidationError)
    async def _request(_req: Request, err: RequestValidationError) -> JSONResponse:
        msgs = "; ".join(f"{'/'.join(map(str, d.get('loc', ())))}: {d.get('msg')}" for d in err.errors())
        return problem(400, "Bad Request", msgs or "malformed request", reason="http.request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, err: StarletteHTTPException) -> JSONResponse:
        headers = dict(err.headers or {})
        if err.status_code == 405:  # RFC 9110 §15.5.6: "MUST generate an Allow header field"
            headers["Allow"] = _allowed(req)
        return problem(err.status_code, "HTTP error", str(err.detail), headers=headers, reason="http.status")

    @app.exception_handler(Exception)
    async def _internal(_req: Request, err: Exception) -> JSONResponse:
        log.exception("internal error")
        return problem(500, "Internal Server Error", "internal error", reason="internal")
