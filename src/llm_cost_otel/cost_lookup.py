"""``cost_of()``: from a response object, stream or response id back to what its call cost.

Keeps only each call's small ``Priced`` box (weakly keyed by the response object) and a
bounded map of recent response ids, never the call itself."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .bounded import BoundedDict
from .usage import Cost

if TYPE_CHECKING:
    from .calls import Call

_REMEMBERED_IDS = 4096


# --- cost_of: response object or response id -> the call that produced it ---


class Priced:
    """The cost of a call once it has ended (None before, or when unpriced)."""

    __slots__ = ("cost",)

    def __init__(self) -> None:
        self.cost: Cost | None = None


# id(obj) -> (weak reference to obj, the call's Priced box). Keyed by identity because SDK responses are often
# unhashable pydantic models; the weakref callback drops the entry when the object dies.
_by_object: dict[int, tuple[weakref.ref[Any], Priced]] = {}
# response id -> its cost (just the Cost: nothing else of the call is kept alive)
_by_id: BoundedDict[str, Cost | None] = BoundedDict(_REMEMBERED_IDS)


class _Ref(weakref.ref):  # type: ignore[type-arg]
    """A weak reference that knows its ``_by_object`` key (no closure per response)."""

    __slots__ = ("key",)
    key: int


def _forget(ref: _Ref) -> None:
    entry = _by_object.get(ref.key)
    if entry is not None and entry[0] is ref:
        _by_object.pop(ref.key, None)


def remember(obj: Any, call: Call) -> None:
    # Objects that are not weak-referenceable are still found by their response id.
    try:
        ref = _Ref(obj, _forget)
    except TypeError:
        return
    key = ref.key = id(obj)
    _by_object[key] = (ref, call.priced)


# remember_id(response_id, cost) runs on every call with a response id: the map's own put,
# with no function of ours around it (one Python frame less per call)
remember_id: Callable[[str, Cost | None], None] = _by_id.put


def cost_of(obj: Any) -> Cost | None:
    """The Cost of the call that produced ``obj`` (a response, stream, or response id); None if unknown."""
    if isinstance(obj, str):
        return _by_id.get(obj)
    entry = _by_object.get(id(obj))
    if entry is not None and entry[0]() is obj and entry[1].cost is not None:
        return entry[1].cost
    for attribute in ("id", "response_id"):
        response_id = getattr(obj, attribute, None)
        if isinstance(response_id, str):
            return _by_id.get(response_id)
    return None if entry is None or entry[0]() is not obj else entry[1].cost
