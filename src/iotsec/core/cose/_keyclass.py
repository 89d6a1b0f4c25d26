"""``isinstance`` against ``cryptography``'s key ABCs, cheaply on hot paths.

An ABC ``isinstance`` runs Python code (``ABCMeta.__instancecheck__``) and costs more than the rest
of a COSE verification's Python work; a class, once seen to be a subclass, stays one. So each check
remembers, in a set of its own, the concrete classes that matched.
"""

from __future__ import annotations


def is_a(obj: object, abc: type | tuple[type, ...], seen: set[type]) -> bool:
    """``isinstance(obj, abc)``, remembering ``type(obj)`` in ``seen`` once it matched (unless
    the object claims another ``__class__`` than its type)."""
    t = type(obj)
    if t in seen:
        return True
    if isinstance(obj, abc):
        if obj.__class__ is t:
            seen.add(t)
        return True
    return False
