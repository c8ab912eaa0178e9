"""``price()`` and ``estimate()``: what a call cost, or may cost at most, from the same price
book the instrumentation uses (no hand-copied rates).

Both return a :class:`~llm_cost_otel.usage.Cost` and raise instead of returning None: an
:class:`UnknownModelError` (a ``LookupError``) for a model without a price, a ``ValueError``
for an unknown provider or an unreadable usage, a ``PriceOverrideError`` for a bad price file.
Adapters and the price book load on the first call, never at ``import llm_cost_otel``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from .active import active
from .counts import UnreadableUsage, count
from .providers import ADAPTERS, PRICE_PROVIDERS, Adapter, provider_of
from .records import geo_of
from .usage import Cost, Usage

if TYPE_CHECKING:
    from .pricing import PriceBook

__all__ = ["UnknownModelError", "estimate", "infer_provider", "price"]

Prices = str | os.PathLike[str] | Mapping[str, Any] | None
Tier = Literal["flex", "priority", "fast"]
_TIERS = ("flex", "priority", "fast")
_OUR_FIELDS = frozenset(Usage.__dataclass_fields__)
_SHARED_FIELDS = frozenset({"input_tokens", "output_tokens"})  # Anthropic's names mean the same


class UnknownModelError(LookupError):
    """No price is known for ``model`` as ``provider`` serves it on ``day``."""

    def __init__(self, model: str, provider: str, day: date) -> None:
        self.model, self.provider, self.day = model, provider, day
        super().__init__(
            f"no price known for model {model!r} (provider {provider!r}) on {day.isoformat()}. "
            f"Check the name with `llm-cost-otel prices {model} --provider {provider}`, or add its rates "
            "to a price override file (prices=... or $LLM_COST_OTEL_PRICES), e.g. TOML "
            f'[models."{model}"] provider = "{provider}", input = 1.0, output = 5.0 (USD per million tokens)'
        )


def infer_provider(model: str) -> str:
    """The provider a model name implies (``providers.provider_of``). Raises ``ValueError``
    when the name says nothing (pass ``provider=``)."""
    found = provider_of(model)
    if found is None:
        choices = ", ".join(PRICE_PROVIDERS)
        raise ValueError(f"cannot tell the provider of model {model!r}: pass provider=, one of {choices}")
    return found


def _provider(model: str, provider: str | None) -> str:
    if provider is None:
        return infer_provider(model)
    if provider not in PRICE_PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; one of {', '.join(PRICE_PROVIDERS)}")
    return provider


def _adapter(provider: str, model: str) -> Adapter:
    """The adapter whose usage reports ``provider`` sends for ``model`` (Vertex AI serves both)."""
    serving = [a for a in ADAPTERS if provider in a.prices]
    if len(serving) > 1:
        wanted = "anthropic" if "claude" in model.lower() else "google_genai"
        serving = [a for a in serving if a.name == wanted] or serving
    return serving[0]


def _snake_keys(value: Any) -> Any:
    """A REST-shaped Gemini dict (``promptTokenCount``) in the SDK's field names."""
    if isinstance(value, Mapping):
        return {re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(k)).lower(): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_snake_keys(v) for v in value]
    return value


def _neutral(usage: Any, adapter: Adapter, model: str) -> tuple[Usage, str | None, str | None]:
    """(``usage`` as our Usage, the tier and the geo its report names: Anthropic's ``speed``
    and ``inference_geo``)."""
    try:
        if isinstance(usage, Usage):
            return Usage(**{k: count(v) for k, v in usage.as_dict().items()}), None, None
        if isinstance(usage, Mapping):
            keys = {str(k) for k in usage}
            if keys <= _OUR_FIELDS:
                return Usage(**{k: count(v) for k, v in usage.items()}), None, None
            ours = keys & (_OUR_FIELDS - _SHARED_FIELDS)
            if ours:
                raise ValueError(
                    f"usage mixes llm_cost_otel.Usage fields ({', '.join(sorted(ours))}) with a provider's "
                    f"({', '.join(sorted(keys - _OUR_FIELDS))}); pass one or the other"
                )
            usage = dict(usage) if adapter.name == "anthropic" else _snake_keys(usage)
        if adapter.name == "anthropic":
            from .anthropic import usage_from_anthropic

            fields = usage if isinstance(usage, dict) else {}
            speed = fields.get("speed", getattr(usage, "speed", None))
            geo = geo_of(fields.get("inference_geo", getattr(usage, "inference_geo", None)))
            return usage_from_anthropic(usage), "fast" if speed == "fast" else None, geo
        from .google_genai import usage_from_gemini

        return usage_from_gemini(usage), None, None
    except UnreadableUsage as exc:
        reader = "Anthropic usage" if adapter.name == "anthropic" else "Gemini usage_metadata"
        raise ValueError(
            f"cannot read the usage for {model!r}: {exc}. Pass llm_cost_otel.Usage, a dict of its fields, "
            f"or the provider's report (here: an {reader})"
        ) from exc


_books: dict[tuple[str, int, int], PriceBook] = {}
_default: tuple[str | None, PriceBook] | None = None


def _book(prices: Prices, adapter: Adapter) -> PriceBook:
    global _default
    from .pricing import PriceBook

    if prices is not None:
        if isinstance(prices, Mapping):
            return PriceBook.from_config(prices)
        path = os.path.abspath(os.fspath(prices))
        try:
            stat = os.stat(path)
        except OSError:
            return PriceBook.from_config(prices)  # raises PriceOverrideError naming the file
        key = (path, stat.st_mtime_ns, stat.st_size)
        book = _books.get(key)
        if book is None:
            if len(_books) >= 16:
                _books.clear()
            book = _books[key] = PriceBook.from_config(prices)
        return book
    telemetry = active(adapter.module)
    if telemetry is not None:
        return telemetry.prices
    env = os.environ.get("LLM_COST_OTEL_PRICES") or None
    if _default is None or _default[0] != env:
        _default = (env, PriceBook.from_config(env))
    return _default[1]


def _day(when: date | datetime | None) -> date:
    if when is None:
        return datetime.now(UTC).date()
    if isinstance(when, datetime):
        return (when if when.tzinfo is None else when.astimezone(UTC)).date()
    if isinstance(when, date):
        return when
    raise TypeError(f"when= takes a date or datetime, not {type(when).__name__}")


def _cost(
    model: str,
    provider: str,
    usage: Usage,
    book: PriceBook,
    batch: bool,
    tier: str | None,
    when: Any,
    scope: str | None,
    geo: str | None,
) -> Cost:
    from .pricing.dimensions import GEOS, SCOPES, model_scope

    if scope is None:
        scope = model_scope(provider, model)  # as the adapter reads it (Bedrock's prefixes)
    for name, value, known in (("tier", tier, _TIERS), ("scope", scope, SCOPES), ("geo", geo, GEOS)):
        if value is not None and value not in known:
            raise ValueError(f"unknown {name} {value!r}; one of {', '.join(known)} (or None: the default)")
    day = _day(when)
    rates = book.rates(provider, model, batch=batch, when=day, tier=tier, scope=scope, geo=geo)
    if rates is None:
        if book.error is not None:
            from .pricing import PriceOverrideError

            raise PriceOverrideError(f"the price file did not load, so nothing is priced: {book.error}")
        raise UnknownModelError(model, provider, day)
    cost = rates.cost(usage)
    if cost is None:
        raise ValueError(f"the cost of this usage for {model!r} overflows a float")
    return cost


def price(
    model: str,
    usage: Usage | Mapping[str, Any] | Any,
    provider: str | None = None,
    *,
    batch: bool = False,
    tier: Tier | None = None,
    when: date | datetime | None = None,
    scope: str | None = None,
    geo: str | None = None,
    prices: Prices = None,
) -> Cost:
    """What a call with this usage costs, in USD, at the rates the instrumentation applies.

    ``usage``: an :class:`~llm_cost_otel.Usage`; a dict whose keys are all ``Usage`` fields
    (``input_tokens`` = uncached input, ``cache_read_tokens``, ``cache_write_5m_tokens``,
    ``output_tokens`` = all output, thinking included, ...), read as ``Usage(**d)``; or the
    provider's own report, object or dict: an Anthropic ``message.usage`` (Anthropic, Bedrock,
    Vertex AI Claude, Foundry) or a Gemini ``usage_metadata`` (snake_case or the REST API's
    camelCase). Which report is expected follows ``provider`` (Vertex AI: Claude models send
    Anthropic's). ``provider``: default inferred from ``model`` (see :func:`infer_provider`).
    ``tier``: ``flex``/``priority`` (Gemini), ``fast`` (Claude fast mode); default standard,
    or ``fast`` when an Anthropic report says ``speed="fast"``. ``when``: the price date (a
    naive datetime is UTC); default today, UTC. ``scope``: where the request ran, ``global``,
    a geography (``us``, ``eu``, ``apac``, ``jp``, ``au``, ``us-gov``) or ``regional`` (Bedrock
    endpoints, Vertex AI locations); default None: what the model id says (a Bedrock
    ``us.``/``global.`` prefix), else list price. ``geo``: Anthropic's ``inference_geo``
    (``global``, ``us``); default what an Anthropic report says. ``prices``: a price override
    file or mapping; default the book ``instrument()`` loaded, else ``$LLM_COST_OTEL_PRICES``.

    Raises :class:`UnknownModelError` when no price is known for the model.
    """
    provider = _provider(model, provider)
    adapter = _adapter(provider, model)
    neutral, reported_tier, reported_geo = _neutral(usage, adapter, model)
    if geo is None and reported_geo is not None:
        from .pricing.dimensions import GEOS

        geo = reported_geo if reported_geo in GEOS else None  # a value we do not price: list price
    book = _book(prices, adapter)
    return _cost(model, provider, neutral, book, batch, tier or reported_tier, when, scope, geo)


def estimate(
    model: str,
    provider: str | None = None,
    *,
    input_tokens: int,
    max_output_tokens: int,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_ttl: Literal["5m", "1h"] = "5m",
    thinking_budget: int = 0,
    web_searches: int = 0,
    batch: bool = False,
    tier: Tier | None = None,
    when: date | datetime | None = None,
    scope: str | None = None,
    geo: str | None = None,
    prices: Prices = None,
) -> Cost:
    """The most a call can cost, in USD: for budgets and for "estimated vs actual".

    ``input_tokens`` is the whole prompt (what ``count_tokens`` returns), of which
    ``cached_input_tokens`` are read from a cache and ``cache_write_tokens`` written to one
    (``cache_write_ttl``); the rest is billed at the plain input rate. The worst case assumes:
    all ``max_output_tokens`` are generated and billed at the output rate; thinking is billed
    as output and is inside that limit (Anthropic's ``max_tokens`` includes the thinking
    budget) unless ``thinking_budget`` is given, which is billed as output on top of it; the
    long-context tier applies when ``input_tokens`` exceeds its threshold (the whole request
    then pays the tier's rates, as the providers bill it); each of ``web_searches`` pays the
    per-search fee. Text rates only: audio and image output are not estimated. Other
    arguments as :func:`price`. Raises :class:`UnknownModelError` for a model without a price.
    """
    counts = {"input_tokens": input_tokens, "max_output_tokens": max_output_tokens, "thinking_budget": thinking_budget}
    counts.update(
        cached_input_tokens=cached_input_tokens, cache_write_tokens=cache_write_tokens, web_searches=web_searches
    )
    for name, value in counts.items():
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be a non-negative int, not {value!r}")
    if cached_input_tokens + cache_write_tokens > input_tokens:
        raise ValueError("cached_input_tokens + cache_write_tokens exceed input_tokens (the whole prompt)")
    if cache_write_ttl not in ("5m", "1h"):
        raise ValueError(f"cache_write_ttl is '5m' or '1h', not {cache_write_ttl!r}")
    provider = _provider(model, provider)
    usage = Usage(
        input_tokens=input_tokens - cached_input_tokens - cache_write_tokens,
        cache_read_tokens=cached_input_tokens,
        cache_write_5m_tokens=cache_write_tokens if cache_write_ttl == "5m" else 0,
        cache_write_1h_tokens=cache_write_tokens if cache_write_ttl == "1h" else 0,
        output_tokens=max_output_tokens + thinking_budget,
        reasoning_tokens=thinking_budget,
        web_search_requests=web_searches,
    )
    book = _book(prices, _adapter(provider, model))
    return _cost(model, provider, usage, book, batch, tier, when, scope, geo)
