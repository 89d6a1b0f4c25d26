"""MUD URL rules (RFC 8520 §1.5 / §3.2 / §13.2): https only, the authority, the signature URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from iotsec.errors import ValidationError

# RFC 8520 §10: the DHCPv4 option carries at most 255 octets; the same bound is kept everywhere a
# URL arrives from a device, which keeps hostile discovery input small.
MAX_MUD_URL = 255


def check_mud_url(url: object, *, path: tuple[str | int, ...] = ()) -> str:
    """Return ``url`` if it is an acceptable MUD URL, else raise :class:`ValidationError`.

    RFC 8520 §1.5: "MUD URLs MUST use the "https" scheme"; a URL must be absolute ASCII with a host.
    """
    if not isinstance(url, str):
        raise ValidationError("MUD URL must be a string", reason="mud.url.type", path=path)
    if not url or len(url) > 2048:
        raise ValidationError("MUD URL is empty or too long", reason="mud.url.length", path=path)
    if not url.isascii() or any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise ValidationError(
            "MUD URL has non-ASCII, control or space characters", reason="mud.url.chars", path=path
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as err:
        raise ValidationError(f"MUD URL is malformed: {err}", reason="mud.url.malformed", path=path) from err
    if parts.scheme.lower() != "https":
        raise ValidationError(
            f"MUD URL must use https, not {parts.scheme or 'no scheme'!r}",
            reason="mud.url.not-https",
            path=path,
        )
    if not host:
        raise ValidationError("MUD URL has no host", reason="mud.url.no-host", path=path)
    if parts.username is not None or parts.password is not None:
        raise ValidationError("MUD URL must not carry credentials", reason="mud.url.userinfo", path=path)
    return url


def authority(url: str) -> str:
    """The host of a MUD URL, lower-cased: the key for ``manufacturer``/``same-manufacturer`` (§4.1/§4.2)."""
    host = urlsplit(url).hostname
    return (host or "").lower()


def signature_url(mud_url: str, mud_signature: str | None) -> str:
    """Where the signature lives (RFC 8520 §13.2): ``mud-signature`` if given, else the MUD URL with
    its ``.json`` suffix replaced by ``.p7s`` (or ``.p7s`` appended when it has no such suffix)."""
    if mud_signature:
        return check_mud_url(mud_signature, path=("ietf-mud:mud", "mud-signature"))
    parts = urlsplit(mud_url)
    p = parts.path[:-5] + ".p7s" if parts.path.endswith(".json") else parts.path + ".p7s"
    return parts._replace(path=p).geturl()
