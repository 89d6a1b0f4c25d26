"""The EST server (RFC 7030) as a FastAPI app, and how to serve it over HTTPS with uvicorn.

Routes: ``/.well-known/est/<op>`` and ``/.well-known/est/<label>/<op>`` (RFC 7030 §3.2.2) for
``cacerts`` and ``csrattrs`` (GET), ``simpleenroll``, ``simplereenroll`` and ``serverkeygen``
(POST, ``application/pkcs10``). Bodies are base64 DER (RFC 8951 §3.1). Errors answer a 4xx/5xx with
a ``text/plain`` human-readable message, as RFC 7030 §4.2.3 asks when no CMC response is sent.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from iotsec.adapters.http import problem
from iotsec.core import est, pki
from iotsec.errors import (
    AuthenticationError,
    ConflictError,
    DecodeError,
    IotSecError,
    NotFoundError,
    PolicyError,
    UnsupportedError,
    ValidationError,
    VerifyError,
)
from iotsec.services.enrollment import Backoff, EnrollmentService, Issued, Peer, Pending

log = logging.getLogger("iotsec.est")

B64_HEADERS = {"Content-Transfer-Encoding": "base64"}
# 400 for a CSR whose content is refused (weak key, bad signature, missing challenge)
_BAD_REQUEST_REASONS = ("pki.key.", "est.csr.", "est.identity.missing")


def est_status(err: IotSecError) -> int:
    """RFC 7030 status for an error (§3.2.3 401, §4.2.3 4xx), used by server and documented in est.md."""
    if isinstance(err, Backoff):
        return 429 if err.retry_after else 403
    if isinstance(err, AuthenticationError):
        return 401
    if isinstance(err, DecodeError | ValidationError | VerifyError):
        return 400
    if isinstance(err, PolicyError):
        return 400 if err.reason.startswith(_BAD_REQUEST_REASONS) else 403
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, ConflictError):
        return 409
    if isinstance(err, UnsupportedError):
        return 415
    return 400


def _error(err: IotSecError) -> Response:
    status = est_status(err)
    headers = {"X-Iotsec-Reason": err.reason}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="est", charset="UTF-8"'  # RFC 7617 §2
    if isinstance(err, Backoff) and err.retry_after:
        headers["Retry-After"] = str(err.retry_after)
    return Response(f"{err}\n", status_code=status, media_type="text/plain", headers=headers)


def _peer(request: Request) -> Peer:
    cert = None
    tls = (request.scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if chain:
        try:
            cert = x509.load_pem_x509_certificate(chain[0].encode())
        except ValueError as exc:
            raise AuthenticationError("unusable client certificate", reason="est.cert.decode") from exc
    basic = None
    auth = request.headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            user, sep, pw = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError) as exc:
            raise AuthenticationError("malformed Basic credentials", reason="est.auth.malformed") from exc
        if sep:
            basic = (user, pw)
    return Peer(cert=cert, basic=basic)


async def _csr_body(request: Request) -> bytes:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != est.PKCS10:
        raise UnsupportedError("request must be application/pkcs10 (RFC 7030 §4.2.1)", reason="est.media")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > est.MAX_BODY):
        raise DecodeError("request body too large", reason="est.body.size")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > est.MAX_BODY:
            raise DecodeError("request body too large", reason="est.body.size")
    return est.b64_decode(body)


def _certs_response(certs: list[x509.Certificate]) -> Response:
    body = est.b64_encode(est.encode_certs_only(certs))
    return Response(body, media_type=est.PKCS7_CERTS_ONLY, headers=B64_HEADERS)


def _enrolled(result: Issued | Pending) -> Response:
    if isinstance(result, Pending):  # RFC 7030 §4.2.3
        return Response(
            b"request pending manual approval\n",
            status_code=202,
            media_type="text/plain",
            headers={"Retry-After": str(result.retry_after)},
        )
    return _certs_response([result.cert])  # RFC 7030 §4.2.3: only the issued certificate


def create_app(service: EnrollmentService) -> FastAPI:
    """The EST app over an :class:`EnrollmentService`."""
    app = FastAPI(title="iotsec EST", docs_url=None, redoc_url=None, openapi_url=None)
    problem.install(app)

    async def dispatch(request: Request, op: str, label: str | None) -> Response:
        try:
            if label is not None:
                est.check_label(label)
            if request.method == "GET" and op == "cacerts":  # RFC 7030 §4.1
                return _certs_response(await run_in_threadpool(service.cacerts, label))
            if request.method == "GET" and op == "csrattrs":  # RFC 7030 §4.5
                attrs = await run_in_threadpool(service.csrattrs, label)
                return Response(
                    est.b64_encode(est.encode_csrattrs(attrs)), media_type=est.CSRATTRS, headers=B64_HEADERS
                )
            if request.method == "POST" and op in ("simpleenroll", "simplereenroll", "serverkeygen"):
                peer = _peer(request)
                csr = await _csr_body(request)
                if op == "simpleenroll":  # RFC 7030 §4.2.1
                    return _enrolled(await run_in_threadpool(lambda: service.enroll(peer, csr, label=label)))
                if op == "simplereenroll":  # RFC 7030 §4.2.2
                    return _enrolled(
                        await run_in_threadpool(lambda: service.reenroll(peer, csr, label=label))
                    )
                got = await run_in_threadpool(lambda: service.serverkeygen(peer, csr, label=label))
                if isinstance(got, Pending):
                    return _enrolled(got)
                key, issued = got  # RFC 7030 §4.4.2
                ctype, body = est.encode_serverkeygen(
                    pki.key_to_pkcs8_der(key), [issued.cert], boundary="est-" + secrets.token_hex(12)
                )
                return Response(body, headers={"Content-Type": ctype})
            if op == "fullcmc":  # RFC 7030 §4.3 is optional; iotsec does not implement it
                return Response(b"fullcmc is not implemented\n", status_code=501, media_type="text/plain")
            if op in est.OPERATIONS:  # RFC 9110 §15.5.6: a 405 MUST carry Allow
                allow = "GET" if op in ("cacerts", "csrattrs") else "POST"
                return Response(
                    b"method not allowed\n",
                    status_code=405,
                    media_type="text/plain",
                    headers={"Allow": allow},
                )
            raise NotFoundError(f"unknown EST operation {op!r}", reason="est.operation")
        except IotSecError as err:
            log.info("EST %s refused: %s [%s]", op, err, err.reason)
            return _error(err)

    crl_cache: dict[str, tuple[float, bytes]] = {}

    @app.get("/crl")
    async def crl() -> Response:
        """The issuing CA's current CRL, DER (RFC 5280 §5, media type of RFC 2585 §4.2), cached 60 s."""
        now = service.clock.now().timestamp()
        cached = crl_cache.get("der")
        if cached is None or now - cached[0] > 60:
            built = await run_in_threadpool(service.crl)
            cached = (now, built.public_bytes(Encoding.DER))
            crl_cache["der"] = cached
        return Response(cached[1], media_type="application/pkix-crl")

    @app.api_route("/.well-known/est/{op}", methods=["GET", "POST"])
    async def plain(request: Request, op: str) -> Response:
        return await dispatch(request, op, None)

    @app.api_route("/.well-known/est/{label}/{op}", methods=["GET", "POST"])
    async def labelled(request: Request, label: str, op: str) -> Response:
        return await dispatch(request, op, label)

    return app


__all__ = ["create_app", "est_status"]
