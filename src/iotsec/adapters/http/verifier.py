"""Veraison-compatible HTTP APIs of the verifier (FastAPI).

* ``POST /challenge-response/v1/newSession?nonce=B64|nonceSize=N`` -> 201 + ``Location: session/{id}``
* ``GET|DELETE /challenge-response/v1/session/{id}``; ``POST`` evidence (body = token, Content-Type =
  evidence media type) -> 200 with the session, whose ``result`` is the signed EAR
* ``POST /endorsement-provisioning/v1/submit`` (CoRIM media types; bearer token required)
* ``GET /.well-known/veraison/verification`` (EAR verification key, media types, endpoints)

Errors are RFC 9457 problem details (:mod:`iotsec.adapters.http.problem`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from iotsec import __version__
from iotsec.adapters.http import problem
from iotsec.clock import SYSTEM, Clock
from iotsec.core.cose import CoseKey
from iotsec.core.eat import corim
from iotsec.core.eat.appraisal import Policy
from iotsec.core.eat.signing import EarSigner
from iotsec.errors import AuthenticationError, ValidationError
from iotsec.services.verifier import MEDIA_TYPES, VerifierService, session_json

SESSION_MEDIA_TYPE = "application/vnd.veraison.challenge-response-session+json"
PROVISIONING_MEDIA_TYPE = "application/vnd.veraison.provisioning-session+json"
DISCOVERY_MEDIA_TYPE = "application/vnd.veraison.discovery+json"
MAX_BODY = 256 * 1024

# The OpenAPI description (``/openapi.json``). The handlers read their bodies and query strings
# themselves (the media type decides how evidence is decoded), so what they accept and answer is
# declared here: request media types, the session media type, and RFC 9457 problem details for
# every error status the handlers can give (adapters/http/problem.py, STATUS).
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_SESSION = {SESSION_MEDIA_TYPE: {"schema": {"type": "object"}}}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: problem.PROBLEM_RESPONSE for code in codes}


_NONCE_PARAMETERS = [
    {
        "name": "nonce",
        "in": "query",
        "required": False,
        "description": "The nonce, base64 (standard or URL alphabet) of 8 to 64 bytes.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9+/_-]{11,88}={0,2}$"},
    },
    {
        "name": "nonceSize",
        "in": "query",
        "required": False,
        "description": "Bytes of nonce for the verifier to draw when no nonce is given.",
        "schema": {"type": "integer", "minimum": 8, "maximum": 64},
    },
]


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise ValidationError(f"the body exceeds {MAX_BODY} bytes", reason="http.body.size")
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise ValidationError(f"the body exceeds {MAX_BODY} bytes", reason="http.body.size")
    return data


def create_app(service: VerifierService, *, provisioning_token: str | None = None) -> FastAPI:
    """The verifier app. Provisioning needs ``Authorization: Bearer <provisioning_token>``;
    without a configured token the provisioning endpoint refuses every request."""
    app = FastAPI(title="iotsec verifier", version=__version__, docs_url=None, redoc_url=None)
    problem.install(app)

    @app.post(
        "/challenge-response/v1/newSession",
        status_code=201,
        responses={
            201: {"description": "the new session (Location: session/{id})", "content": _SESSION},
            **_problems(400),
        },
        openapi_extra={"parameters": _NONCE_PARAMETERS},
    )
    async def new_session(request: Request) -> Response:
        q = request.query_params
        unknown = set(q) - {"nonce", "nonceSize"}
        if unknown:
            raise ValidationError(f"unknown query parameter(s) {sorted(unknown)}", reason="http.query")
        nonce = size = None
        if "nonce" in q:
            try:
                t = q["nonce"].replace("-", "+").replace("_", "/")
                nonce = base64.b64decode(t + "=" * (-len(t) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError("nonce must be base64", reason="verifier.nonce") from None
        if "nonceSize" in q:
            if not q["nonceSize"].isdigit():
                raise ValidationError("nonceSize must be an integer", reason="verifier.nonce.size")
            size = int(q["nonceSize"])
        s = await run_in_threadpool(service.new_session, nonce=nonce, nonce_size=size)
        return JSONResponse(
            session_json(s),
            status_code=201,
            media_type=SESSION_MEDIA_TYPE,
            headers={"Location": f"session/{s.id}"},
        )

    @app.get(
        "/challenge-response/v1/session/{sid}",
        responses={200: {"description": "the session", "content": _SESSION}, **_problems(404)},
    )
    async def get_session(sid: str) -> Response:
        s = await run_in_threadpool(service.get_session, sid)
        return JSONResponse(session_json(s), media_type=SESSION_MEDIA_TYPE)

    @app.delete(
        "/challenge-response/v1/session/{sid}",
        status_code=204,
        responses={204: {"description": "deleted"}, **_problems(404)},
    )
    async def delete_session(sid: str) -> Response:
        await run_in_threadpool(service.delete_session, sid)
        return Response(status_code=204)

    @app.post(
        "/challenge-response/v1/session/{sid}",
        responses={
            200: {"description": "the session, with the signed EAR as its result", "content": _SESSION},
            **_problems(400, 401, 403, 404, 409, 415),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": f"The evidence (at most {MAX_BODY} bytes); Content-Type names its format.",
                "content": {media_type: _BINARY for media_type in MEDIA_TYPES},
            }
        },
    )
    async def submit(sid: str, request: Request) -> Response:
        ctype = request.headers.get("content-type")
        if not ctype:
            raise ValidationError(
                "Content-Type (the evidence media type) is required", reason="http.content_type"
            )
        body = await _body(request)
        if not body:
            raise ValidationError("the evidence is empty", reason="http.body.empty")
        s = await run_in_threadpool(service.submit, sid, ctype, body)
        return JSONResponse(session_json(s), media_type=SESSION_MEDIA_TYPE)

    @app.post(
        "/endorsement-provisioning/v1/submit",
        responses={
            200: {
                "description": "stored",
                "content": {PROVISIONING_MEDIA_TYPE: {"schema": {"type": "object"}}},
            },
            **_problems(400, 401, 403, 415),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": f"A CoRIM (at most {MAX_BODY} bytes); needs Authorization: Bearer.",
                "content": {media_type: _BINARY for media_type in corim.MEDIA_TYPES},
            }
        },
    )
    async def provision(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not provisioning_token or not hmac.compare_digest(given.encode(), provisioning_token.encode()):
            raise AuthenticationError(
                "provisioning needs a valid bearer token", reason="verifier.provisioning.auth"
            )
        ctype = request.headers.get("content-type")
        if not ctype:
            raise ValidationError("Content-Type (a CoRIM media type) is required", reason="http.content_type")
        body = await _body(request)
        await run_in_threadpool(service.provision, ctype, body)
        return JSONResponse({"status": "success"}, media_type=PROVISIONING_MEDIA_TYPE)

    @app.get(
        "/.well-known/veraison/verification",
        responses={
            200: {
                "description": "the EAR verification key, media types and endpoints",
                "content": {DISCOVERY_MEDIA_TYPE: {"schema": {"type": "object"}}},
            }
        },
    )
    async def discovery() -> Response:
        return JSONResponse(
            {
                "ear-verification-key": service.signer.public_jwk(),
                "media-types": list(MEDIA_TYPES),
                "version": f"iotsec-{__version__}",
                "service-state": "READY",
                "api-endpoints": {
                    "newChallengeResponseSession": "/challenge-response/v1/newSession",
                },
            },
            media_type=DISCOVERY_MEDIA_TYPE,
        )

    return app


def build_service(
    db_url: str | None,
    ear_key: CoseKey,
    *,
    clock: Clock = SYSTEM,
    policy: Policy | None = None,
    ear_format: str = "jwt",
    ear_generation: str = "ietf",
    session_ttl: int = 300,
    corim_signers: Sequence[CoseKey] = (),
    ear_validity: int | None = None,
) -> VerifierService:
    """Compose the verifier: SQL stores on ``db_url`` (SQLite by default), EAR signer, policy."""
    from iotsec.adapters.db import make_engine, upgrade_schema
    from iotsec.adapters.db.rats import SqlEndorsementStore, SqlSessionStore

    engine = make_engine(db_url)
    if engine.dialect.name == "sqlite":
        # WAL with synchronous=NORMAL: no corruption on power loss, at most the last commits lost;
        # sessions are short-lived and a lost one is simply retried by the attester
        from sqlalchemy import event

        event.listen(engine, "connect", lambda conn, _rec: conn.execute("PRAGMA synchronous=NORMAL"))
    upgrade_schema(engine)  # to the newest schema revision, or a ConfigError (db.schema.*)
    return VerifierService(
        SqlSessionStore(engine),
        SqlEndorsementStore(engine),
        clock,
        EarSigner(ear_key, format=ear_format, generation=ear_generation),
        policy=policy,
        session_ttl=session_ttl,
        corim_signers=corim_signers,
        ear_validity=ear_validity,
    )


__all__ = ["SESSION_MEDIA_TYPE", "build_service", "create_app"]
