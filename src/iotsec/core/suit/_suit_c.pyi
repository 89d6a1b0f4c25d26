from collections.abc import Callable
from typing import Any

FALLBACK: object

def sequence(items: Any, path: tuple[Any, ...], depth: int, /) -> Any: ...
def configure(
    command: type,
    digest: type,
    command_kinds: dict[int, int],
    parameter_kinds: dict[int, int],
    decode: Callable[[bytes, bool, int], Any],
    max_depth: int,
    pair: Callable[[Any, Any, tuple[Any, ...], int, int], Any],
    /,
) -> None: ...
def manifest(m: Any, path: tuple[Any, ...], tagged: bool, /) -> Any: ...
def configure_manifest(
    manifest: type,
    common: type,
    sequence_names: dict[int, str],
    version: int,
    sequence_number: int,
    common_label: int,
    reference_uri: int,
    text: int,
    dependencies: int,
    components: int,
    shared_sequence: int,
    manifest_version: int,
    /,
) -> None: ...
