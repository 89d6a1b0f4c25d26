"""Pure cores: bytes in, objects or typed errors out.

Nothing below this package opens a socket or a file, reads the environment or the clock, or uses
asyncio; the import contract in ``pyproject.toml`` checks it.
"""
