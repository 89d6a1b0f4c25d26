"""SUIT code points (draft-ietf-suit-manifest §11, "IANA Considerations").

One enum per IANA registry the draft creates; each member cites its section. Labels that other
SUIT drafts add to the same registries (trust domains, firmware encryption, update management)
are listed too, so the codec recognises them and the processor can refuse them by name.
Unknown code points stay plain ``int`` everywhere (DESIGN.md "Registries").
"""

from __future__ import annotations

from enum import IntEnum

# §11: CBOR tags
TAG_ENVELOPE = 107  # SUIT_Envelope_Tagged
TAG_MANIFEST = 1070  # SUIT_Manifest_Tagged
TAG_CBOR_PEN = 112  # RFC 9090 relative OID, used for a vendor id given as a PEN (§8.4.8.3)

MANIFEST_VERSION = 1  # §8.4.1
CUSTOM_LIMIT = -256  # §11: labels -256 and below are Private Use ("custom")


class EnvelopeKey(IntEnum):
    """§11.1 SUIT Envelope Elements."""

    DELEGATION = 1  # reserved (trust domains draft)
    AUTHENTICATION_WRAPPER = 2  # §8.3
    MANIFEST = 3  # §8.4
    PAYLOAD_FETCH = 16  # §8.4.6 (severable)
    INSTALL = 20  # §8.4.6 (severable)
    TEXT = 23  # §8.4.4 (severable)
    # draft-ietf-suit-trust-domains: severable members
    DEPENDENCY_RESOLUTION = 15
    CANDIDATE_VERIFICATION = 18


class ManifestKey(IntEnum):
    """§11.2 SUIT Manifest Elements."""

    VERSION = 1  # §8.4.1
    SEQUENCE_NUMBER = 2  # §8.4.2
    COMMON = 3  # §8.4.5
    REFERENCE_URI = 4  # §8.4.3
    MANIFEST_COMPONENT_ID = 5  # draft-ietf-suit-trust-domains
    SET_VERSION = 6  # draft-ietf-suit-update-management
    VALIDATE = 7  # §8.4.6
    LOAD = 8  # §8.4.6
    INVOKE = 9  # §8.4.6
    COSWID = 14  # draft-ietf-suit-update-management
    DEPENDENCY_RESOLUTION = 15  # draft-ietf-suit-trust-domains (severable)
    PAYLOAD_FETCH = 16  # §8.4.6 (severable)
    CANDIDATE_VERIFICATION = 18  # draft-ietf-suit-trust-domains (severable)
    INSTALL = 20  # §8.4.6 (severable)
    TEXT = 23  # §8.4.4 (severable)
    UNINSTALL = 24  # draft-ietf-suit-trust-domains


# Members that may be replaced by a SUIT_Digest and moved to the envelope (§8.4.12, §8.6)
SEVERABLE = frozenset(
    {
        ManifestKey.PAYLOAD_FETCH,
        ManifestKey.INSTALL,
        ManifestKey.TEXT,
        ManifestKey.DEPENDENCY_RESOLUTION,
        ManifestKey.CANDIDATE_VERIFICATION,
    }
)
# Command sequences of the manifest, in their execution order per procedure (§8.4.6)
SEQUENCE_KEYS = (
    ManifestKey.DEPENDENCY_RESOLUTION,
    ManifestKey.PAYLOAD_FETCH,
    ManifestKey.CANDIDATE_VERIFICATION,
    ManifestKey.INSTALL,
    ManifestKey.VALIDATE,
    ManifestKey.LOAD,
    ManifestKey.INVOKE,
    ManifestKey.UNINSTALL,
)


class CommonKey(IntEnum):
    """§11.3 SUIT Common Elements."""

    DEPENDENCIES = 1  # draft-ietf-suit-trust-domains
    COMPONENTS = 2  # §8.4.5
    SHARED_SEQUENCE = 4  # §8.4.5


class Command(IntEnum):
    """§11.4 SUIT Commands (conditions and directives share one registry)."""

    VENDOR_IDENTIFIER = 1  # §8.4.9.1 condition
    CLASS_IDENTIFIER = 2  # §8.4.9.1 condition
    IMAGE_MATCH = 3  # §8.4.9.2 condition
    USE_BEFORE = 4  # §6.4 Table 2; draft-ietf-suit-update-management
    COMPONENT_SLOT = 5  # §8.4.9.4 condition
    CHECK_CONTENT = 6  # §8.4.9.3 condition
    DEPENDENCY_INTEGRITY = 7  # draft-ietf-suit-trust-domains condition
    IS_DEPENDENCY = 8  # draft-ietf-suit-trust-domains condition
    PROCESS_DEPENDENCY = 11  # draft-ietf-suit-trust-domains directive
    SET_COMPONENT_INDEX = 12  # §8.4.10.1 directive
    ABORT = 14  # §8.4.9.5 condition
    TRY_EACH = 15  # §8.4.10.2 directive
    WRITE = 18  # §8.4.10.6 directive
    SET_PARAMETERS = 19  # draft-ietf-suit-trust-domains directive
    OVERRIDE_PARAMETERS = 20  # §8.4.10.3 directive
    FETCH = 21  # §8.4.10.4 directive
    COPY = 22  # §8.4.10.5 directive
    INVOKE = 23  # §8.4.10.7 directive
    DEVICE_IDENTIFIER = 24  # §8.4.9.1 condition
    IMAGE_NOT_MATCH = 25  # draft-ietf-suit-update-management condition
    MINIMUM_BATTERY = 26  # draft-ietf-suit-update-management condition
    UPDATE_AUTHORIZED = 27  # draft-ietf-suit-update-management condition
    VERSION = 28  # draft-ietf-suit-update-management condition
    WAIT = 29  # draft-ietf-suit-update-management directive
    SWAP = 31  # §8.4.10.9 directive
    RUN_SEQUENCE = 32  # §8.4.10.8 directive
    UNLINK = 33  # draft-ietf-suit-trust-domains directive
    OVERRIDE_MULTIPLE = 34  # draft-ietf-suit-update-management directive
    COPY_PARAMS = 35  # draft-ietf-suit-update-management directive


CONDITIONS = frozenset(
    {
        Command.VENDOR_IDENTIFIER,
        Command.CLASS_IDENTIFIER,
        Command.IMAGE_MATCH,
        Command.USE_BEFORE,
        Command.COMPONENT_SLOT,
        Command.CHECK_CONTENT,
        Command.DEPENDENCY_INTEGRITY,
        Command.IS_DEPENDENCY,
        Command.ABORT,
        Command.DEVICE_IDENTIFIER,
        Command.IMAGE_NOT_MATCH,
        Command.MINIMUM_BATTERY,
        Command.UPDATE_AUTHORIZED,
        Command.VERSION,
    }
)
# Commands whose argument is not a SUIT_Rep_Policy (§8.4.6: "argument blocks")
SET_COMPONENT_INDEX_LIKE = frozenset({Command.SET_COMPONENT_INDEX})
PARAMETER_ARGUMENT = frozenset({Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS})
# Commands of other drafts that belong to dependency (trust-domain) processing: issue #4
DEPENDENCY_COMMANDS = frozenset(
    {Command.DEPENDENCY_INTEGRITY, Command.IS_DEPENDENCY, Command.PROCESS_DEPENDENCY, Command.UNLINK}
)


class Parameter(IntEnum):
    """§11.5 SUIT Parameters."""

    VENDOR_IDENTIFIER = 1  # §8.4.8.3
    CLASS_IDENTIFIER = 2  # §8.4.8.4
    IMAGE_DIGEST = 3  # §8.4.8.6
    USE_BEFORE = 4  # draft-ietf-suit-update-management
    COMPONENT_SLOT = 5  # §8.4.8.8
    STRICT_ORDER = 12  # §8.4.8.14
    SOFT_FAILURE = 13  # §8.4.8.15
    IMAGE_SIZE = 14  # §8.4.8.7
    CONTENT = 18  # §8.4.8.9
    ENCRYPTION_INFO = 19  # draft-ietf-suit-firmware-encryption
    URI = 21  # §8.4.8.10
    SOURCE_COMPONENT = 22  # §8.4.8.11
    INVOKE_ARGS = 23  # §8.4.8.12
    DEVICE_IDENTIFIER = 24  # §8.4.8.5
    FETCH_ARGUMENTS = 25  # §8.4.8.13 (label from the draft's CDDL, Appendix A)
    MINIMUM_BATTERY = 26  # draft-ietf-suit-update-management
    UPDATE_PRIORITY = 27  # draft-ietf-suit-update-management
    VERSION = 28  # draft-ietf-suit-update-management
    WAIT_INFO = 29  # draft-ietf-suit-update-management
    COMPONENT_METADATA = 30  # draft-ietf-suit-update-management


class TextKey(IntEnum):
    """§11.6 SUIT Text Values."""

    MANIFEST_DESCRIPTION = 1
    UPDATE_DESCRIPTION = 2
    MANIFEST_JSON_SOURCE = 3
    MANIFEST_YAML_SOURCE = 4


class ComponentTextKey(IntEnum):
    """§11.7 SUIT Component Text Values."""

    VENDOR_NAME = 1
    MODEL_NAME = 2
    VENDOR_DOMAIN = 3
    MODEL_INFO = 4
    COMPONENT_DESCRIPTION = 5
    COMPONENT_VERSION = 6


class DigestAlg(IntEnum):
    """§10: SUIT_Digest algorithm ids from the IANA "COSE Algorithms" registry (RFC 9054)."""

    SHA256 = -16  # REQUIRED
    SHAKE128 = -18
    SHA384 = -43
    SHA512 = -44
    SHAKE256 = -45


class ReportingPolicy(IntEnum):
    """§8.4.7 SUIT_Rep_Policy bits."""

    SEND_RECORD_ON_SUCCESS = 1 << 0
    SEND_RECORD_ON_FAILURE = 1 << 1
    SEND_SYSINFO_SUCCESS = 1 << 2
    SEND_SYSINFO_FAILURE = 1 << 3


def label_name(enum: type[IntEnum], value: object) -> str:
    """Spec-style name of a label (``image-match``), or the number for an unknown one."""
    if isinstance(value, int) and not isinstance(value, bool):
        names = _NAMES.get(enum)
        if names is None:  # one table per enum, built on first use (the processor names every record)
            names = _NAMES[enum] = {int(m): m.name.lower().replace("_", "-") for m in enum}
        name = names.get(int(value))
        if name is not None:
            return name
        return "custom" if value <= CUSTOM_LIMIT else str(value)
    return repr(value)


_NAMES: dict[type[IntEnum], dict[int, str]] = {}


def _enum_or_int(enum: type[IntEnum], value: int) -> int:
    try:
        return enum(value)
    except ValueError:
        return value


def command(value: int) -> int:
    """``Command`` member for a known code, else the plain int."""
    return _enum_or_int(Command, value)


def parameter(value: int) -> int:
    """``Parameter`` member for a known label, else the plain int."""
    return _enum_or_int(Parameter, value)


__all__ = [
    "CONDITIONS",
    "CUSTOM_LIMIT",
    "DEPENDENCY_COMMANDS",
    "MANIFEST_VERSION",
    "PARAMETER_ARGUMENT",
    "SEQUENCE_KEYS",
    "SET_COMPONENT_INDEX_LIKE",
    "SEVERABLE",
    "TAG_CBOR_PEN",
    "TAG_ENVELOPE",
    "TAG_MANIFEST",
    "Command",
    "CommonKey",
    "ComponentTextKey",
    "DigestAlg",
    "EnvelopeKey",
    "ManifestKey",
    "Parameter",
    "ReportingPolicy",
    "TextKey",
    "command",
    "label_name",
    "parameter",
]
