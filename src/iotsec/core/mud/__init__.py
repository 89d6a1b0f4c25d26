"""MUD, Manufacturer Usage Descriptions (RFC 8520): pure core.

Modules: :mod:`.model` (data), :mod:`.parser` (strict/lenient parse and validate), :mod:`.acl`
(RFC 8519 access lists), :mod:`.serialize` (JSON out), :mod:`.builder` (YAML profile -> MUD file),
:mod:`.signature` (detached CMS, RFC 8520 §13), :mod:`.discovery` (DHCP/LLDP/X.509 MUD URLs),
:mod:`.compiler` (ACL intents for one device) and :mod:`.nft` (nftables text). See docs/mud.md.
"""

from iotsec.core.mud.builder import build_mud, load_profile
from iotsec.core.mud.compiler import (
    Device,
    DevicePolicy,
    Environment,
    Intent,
    Resolver,
    StaticResolver,
    compile_policy,
)
from iotsec.core.mud.model import Ace, Acl, Direction, Finding, Forwarding, MudDocument, MudFile
from iotsec.core.mud.nft import render_many, render_remove, render_ruleset
from iotsec.core.mud.parser import parse_mud
from iotsec.core.mud.serialize import to_json
from iotsec.core.mud.signature import sign_mud, verify_mud_signature
from iotsec.core.mud.url import check_mud_url, signature_url

__all__ = [
    "Ace",
    "Acl",
    "Device",
    "DevicePolicy",
    "Direction",
    "Environment",
    "Finding",
    "Forwarding",
    "Intent",
    "MudDocument",
    "MudFile",
    "Resolver",
    "StaticResolver",
    "build_mud",
    "check_mud_url",
    "compile_policy",
    "load_profile",
    "parse_mud",
    "render_many",
    "render_remove",
    "render_ruleset",
    "sign_mud",
    "signature_url",
    "to_json",
    "verify_mud_signature",
]
