"""EST (RFC 7030) message formats. Pure: the transport lives in ``iotsec.adapters.http.est``."""

from iotsec.core.est.messages import (
    CSRATTRS,
    MAX_BODY,
    OPERATIONS,
    PKCS7_CERTS_ONLY,
    PKCS8,
    PKCS10,
    WELL_KNOWN,
    CsrAttr,
    b64_decode,
    b64_encode,
    check_label,
    decode_certs_only,
    decode_csrattrs,
    decode_serverkeygen,
    encode_certs_only,
    encode_csrattrs,
    encode_serverkeygen,
    est_path,
    oid_der,
)

__all__ = [
    "CSRATTRS", "MAX_BODY", "OPERATIONS", "PKCS7_CERTS_ONLY", "PKCS8", "PKCS10", "WELL_KNOWN", "CsrAttr",
    "b64_decode", "b64_encode", "check_label", "decode_certs_only", "decode_csrattrs", "decode_serverkeygen",
    "encode_certs_only", "encode_csrattrs", "encode_serverkeygen", "est_path", "oid_der",
]
