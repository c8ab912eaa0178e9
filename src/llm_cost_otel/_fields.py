"""Reading an SDK response object's fields cheaply, for any provider adapter."""

from __future__ import annotations

from typing import Any


def fields_of(obj: Any) -> dict[str, Any]:
    """A response object's fields as a dict, read without a call per field and without the
    slow path a missing attribute takes on a pydantic model. Pydantic models keep declared
    fields in ``__dict__`` and fields the SDK does not declare (a newer API, an older SDK) in
    ``__pydantic_extra__``; dicts are taken as they are."""
    if isinstance(obj, dict):
        return obj
    fields = getattr(obj, "__dict__", None)
    if not isinstance(fields, dict):
        return {k: getattr(obj, k) for k in dir(obj) if not k.startswith("_")}
    extra = getattr(obj, "__pydantic_extra__", None)
    return {**fields, **extra} if extra else fields
