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


def install(app: FastAPI) -> None:
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
    async def _http(_req: Request, err: StarletteHTTPException) -> JSONResponse:
        # the exception's headers are kept: a 405 carries Allow (RFC 9110 §15.5.6: "The origin
        # server MUST generate an Allow header field in a 405 response")
        return problem(
            err.status_code, "HTTP error", str(err.detail), headers=err.headers, reason="http.status"
        )

    @app.exception_handler(Exception)
    async def _internal(_req: Request, err: Exception) -> JSONResponse:
        log.exception("internal error")
        return problem(500, "Internal Server Error", "internal error", reason="internal")
