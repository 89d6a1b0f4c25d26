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
