"""The contract between an adapter and the core: what it knows of a request before
sending it (``Request``) and what it learned from the response (``Outcome``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._safety import warn_once
from .usage import Usage, field_values


@dataclass(slots=True)
class Request:
    """What an adapter knows about a request before sending it."""

    provider: str
    operation: str
    model: str
    server_address: str | None = None
    server_port: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    batch: bool = False
    input_messages: Any = None
    system: Any = None
    price_tier: str | None = None
    """A request option that changes the price: Gemini ``flex``/``priority``, Claude ``fast``."""
    price_scope: str | None = None
    """Where the request runs, when that changes the price: ``global``, a geography (``us``,
    ``eu``, ``apac``, ``jp``, ``au``, ``us-gov``) or ``regional``. Bedrock: the model id's prefix
    (None for an application inference profile ARN: map it in the price override file);
    Vertex AI: the client's location."""
    price_by_request_model: bool = False
    """Price by the model id asked for before the one that answered: an id that says more than
    the answer (a Bedrock application inference profile, which an override alias can map)."""


@dataclass(slots=True)
class Outcome:
    """What an adapter learned from the response (all optional: a failed call may know nothing)."""

    usage: Usage | None = None
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: tuple[str, ...] | None = None
    service_tier: str | None = None
    output_messages: Any = None
    """The response as semconv output messages, or a function that builds them: only called
    when content capture is on, so a call does not pay for it otherwise."""
    error: BaseException | None = None
    error_type: str | None = None
    attributes: dict[str, Any] | None = None
    """Extra span attributes (names from this module) an adapter learned."""
    price_tier: str | None = None
    """The price tier the response says was used (overrides the request's)."""
    inference_geo: str | None = None
    """Where Anthropic says inference ran (``usage.inference_geo``: ``us`` costs 1.1x on some models)."""
    usage_unknown: bool = False
    """The request was billed but its usage could not be read (counted as unpriced, never $0)."""


# No single request bills a trillion tokens: a count like that is a broken response, and
# summing it would overflow the cumulative counters (int64 in OTLP) for the process's life.
IMPLAUSIBLE_COUNT = 10**12


# An error type is a low-cardinality name (an HTTP status, a provider's error code, a class
# name): anything else came from upstream text and may carry a credential it echoed.
_ERROR_TYPE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def geo_of(reported: Any) -> str | None:
    """A reported ``inference_geo`` as the price book keys it: lower case, None if not a name."""
    return reported.lower() if isinstance(reported, str) and reported else None


def sanitize(outcome: Outcome) -> None:
    """Keep malformed response fields from costing the usage that is there."""
    error_type = outcome.error_type
    if error_type is not None and (not isinstance(error_type, str) or not _ERROR_TYPE.fullmatch(error_type)):
        outcome.error_type = type(outcome.error).__qualname__ if outcome.error is not None else "error"
    if outcome.response_model is not None and not isinstance(outcome.response_model, str):
        outcome.response_model = None
    if outcome.response_id is not None and not isinstance(outcome.response_id, str):
        outcome.response_id = None
    if outcome.inference_geo is not None:
        outcome.inference_geo = geo_of(outcome.inference_geo)
    usage = outcome.usage
    # the sum of every count (tokens, characters, images, requests) stays far below this
    # for any real request, and is read in one C call
    if usage is not None and sum(field_values(usage)) >= IMPLAUSIBLE_COUNT:
        warn_once("implausible-usage", "llm-cost-otel: ignored an implausible usage report: %s", usage)
        outcome.usage = None
        outcome.usage_unknown = True
