"""PKI core: keys, certificate profiles, CSR checks, chains and rollover links, CRLs.

Pure (DESIGN.md): keys, serial numbers and ``now`` are arguments; nothing reads files or the clock.
"""

from iotsec.core.pki.chain import rollover_anchor, verify_chain
from iotsec.core.pki.crl import Revoked, build_crl, check_not_revoked, load_crl
from iotsec.core.pki.csr import CheckedCsr, challenge_password, check_csr, csr_identity, parse_csr
from iotsec.core.pki.keys import (
    KeyType,
    PrivateKey,
    PublicKey,
    check_public_key,
    generate_key,
    key_to_pem,
    key_to_pkcs8_der,
    load_private_key,
    signature_hash,
)
from iotsec.core.pki.profiles import (
    MUD_URL_OID,
    Issuer,
    decode_mud_url,
    device_cert,
    device_subject,
    device_uuid,
    encode_mud_url,
    fingerprint,
    is_ca,
    is_self_signed,
    issuing_ca,
    link_certificate,
    mud_url_of,
    name,
    operator_cert,
    parse_uuid,
    root_ca,
    san_uris,
    server_cert,
)
from iotsec.core.pki.x509io import certs_to_pem, load_cert, load_certs

__all__ = [
    "MUD_URL_OID", "CheckedCsr", "Issuer", "KeyType", "PrivateKey", "PublicKey", "Revoked",
    "build_crl", "certs_to_pem", "challenge_password", "check_csr", "check_not_revoked", "check_public_key",
    "csr_identity", "decode_mud_url", "device_cert", "device_subject", "device_uuid", "encode_mud_url",
    "fingerprint", "generate_key", "is_ca", "is_self_signed", "issuing_ca", "key_to_pem", "key_to_pkcs8_der",
    "link_certificate", "load_cert", "load_certs", "load_crl", "load_private_key", "mud_url_of", "name",
    "operator_cert", "parse_csr", "parse_uuid", "rollover_anchor", "root_ca", "san_uris", "server_cert",
    "signature_hash", "verify_chain",
]
