"""Entity Attestation Tokens (RFC 9711), the PSA token (RFC 9783), EAR results (draft-ietf-rats-ear),
CoRIM reference values (draft-ietf-rats-corim) and appraisal.

Pure: bytes in, objects or typed errors out; time, keys and nonces are arguments.
"""
