"""Every attribute, metric and span name llm-cost-otel writes, in one place.

``gen_ai.*``, ``server.*`` and ``error.*`` names come from the OpenTelemetry semantic
conventions package where it has them; the few it lacks are spelled here with their source
(``EXTRA_GEN_AI_NAMES``, checked by a test); our own names live under ``llm_cost.``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _gen_ai
from opentelemetry.semconv._incubating.attributes import service_attributes as _service_incubating
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as _gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes as _error
from opentelemetry.semconv.attributes import server_attributes as _server
from opentelemetry.semconv.attributes import service_attributes as _service

SCOPE_NAME = "llm_cost_otel"
# resource attributes the ledger records
SERVICE_NAME = _service.SERVICE_NAME
SERVICE_INSTANCE_ID = _service_incubating.SERVICE_INSTANCE_ID
# the operation of a batch's results download (each result is recorded as its own request)
BATCH_RESULTS_OPERATION = "batch_results"
# the environment variable naming the cost ledger (``instrument(ledger=...)``'s default)
LEDGER_ENV = "LLM_COST_OTEL_LEDGER"

# --- span attributes (OpenTelemetry GenAI semantic conventions) ---
OPERATION = _gen_ai.GEN_AI_OPERATION_NAME
PROVIDER = _gen_ai.GEN_AI_PROVIDER_NAME
REQUEST_MODEL = _gen_ai.GEN_AI_REQUEST_MODEL
RESPONSE_MODEL = _gen_ai.GEN_AI_RESPONSE_MODEL
RESPONSE_ID = _gen_ai.GEN_AI_RESPONSE_ID
FINISH_REASONS = _gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
SERVER_ADDRESS = _server.SERVER_ADDRESS
SERVER_PORT = _server.SERVER_PORT
ERROR_TYPE = _error.ERROR_TYPE
INPUT_TOKENS = _gen_ai.GEN_AI_USAGE_INPUT_TOKENS
OUTPUT_TOKENS = _gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
CACHE_READ_TOKENS = _gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
CACHE_WRITE_TOKENS = _gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
REASONING_TOKENS = _gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
INPUT_MESSAGES = _gen_ai.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES = _gen_ai.GEN_AI_OUTPUT_MESSAGES
SYSTEM_INSTRUCTIONS = _gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS
TOKEN_TYPE = _gen_ai.GEN_AI_TOKEN_TYPE
# Request parameters: our neutral key -> semconv attribute.
REQUEST_PARAMS = {
    "max_tokens": _gen_ai.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": _gen_ai.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": _gen_ai.GEN_AI_REQUEST_TOP_P,
    "top_k": _gen_ai.GEN_AI_REQUEST_TOP_K,
    "stop_sequences": _gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES,
    "seed": _gen_ai.GEN_AI_REQUEST_SEED,
    "choice_count": _gen_ai.GEN_AI_REQUEST_CHOICE_COUNT,
    "batch_id": "llm_cost.batch.id",
}

# --- cost attributes (no standard yet; gen_ai.usage.cost is what Langfuse and OpenLIT read) ---
COST_TOTAL = "gen_ai.usage.cost"
COST_COMPONENT_ATTRS = {
    "input": "llm_cost.usd.input",
    "output": "llm_cost.usd.output",
    "cache_read": "llm_cost.usd.cache_read",
    "cache_write": "llm_cost.usd.cache_write",
    "request_fees": "llm_cost.usd.request_fees",
}
COST_CACHE_SAVINGS = "llm_cost.usd.cache_savings"
PRICE_SOURCE = "llm_cost.price.source"
PRICE_MODEL = "llm_cost.price.model"
PRICE_VERSION = "llm_cost.price.version"
UNPRICED = "unpriced"
# on an unpriced call when the price override file did not load: the error, naming the file
PRICE_ERROR = "llm_cost.price.error"
USAGE_UNKNOWN = "llm_cost.usage_unknown"
# Usage fields most calls leave at 0 (checked together before any is written). Uncached
# input is not written: it is gen_ai.usage.input_tokens less the cache reads and writes.
USAGE_DETAIL_ATTRS = {
    "cache_write_5m_tokens": "llm_cost.tokens.cache_write_5m",
    "cache_write_1h_tokens": "llm_cost.tokens.cache_write_1h",
    "web_search_requests": "llm_cost.requests.web_search",
    "web_fetch_requests": "llm_cost.requests.web_fetch",
    "input_characters": "llm_cost.characters.input",
    "output_images": "llm_cost.images.output",
}
BATCH = "llm_cost.batch"
SERVICE_TIER = "llm_cost.service_tier"
PRICE_TIER = "llm_cost.price.tier"
# where the request ran (global / a geography / regional) and Anthropic's inference_geo, when
# reported: the dimensions beyond the model id that the price used
PRICE_SCOPE = "llm_cost.price.scope"
PRICE_GEO = "llm_cost.price.geo"
BATCH_RESULTS = "llm_cost.batch.results"
BATCH_UNPRICED = "llm_cost.batch.unpriced_results"
# results of a download that an earlier download of the same batch already counted
BATCH_ALREADY_COUNTED = "llm_cost.batch.already_counted"
ROLLUP_PREFIX = "llm_cost.rollup."
CACHE_TOKENS = "llm_cost.cache.tokens"
CACHE_TTL = "llm_cost.cache.ttl_seconds"
CACHE_STORAGE_RATE = "llm_cost.cache.storage_usd_per_hour"
CACHE_STORAGE_ESTIMATE = "llm_cost.cache.storage_usd_for_ttl"

# --- metrics ---
COMPONENT = "llm_cost.component"
OVERFLOW = "otel.metric.overflow"
LLM_TOKEN_TYPE = "llm_cost.token.type"
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
# The conventions' metrics, by role, as released (the default) and as on the conventions'
# main branch, which OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental selects
# (OpenTelemetry's migration mechanism; docs/gen-ai/non-normative/migration.md lists the renames).
LATEST_OPT_IN = "gen_ai_latest_experimental"
# Operations the latest conventions call inference: their duration and token metrics are
# gen_ai.client.inference.*; other operations (embeddings, ...) keep gen_ai.client.operation.duration.
INFERENCE_OPERATIONS = frozenset({"chat", "generate_content", "text_completion"})
TOKEN_MODALITY = "gen_ai.token.modality"


@dataclass(frozen=True)
class GenAiNames:
    """The conventions' names that differ between the released package and the latest."""

    cache_write_tokens: str
    inference_duration: str
    operation_duration: str
    time_to_first_chunk: str
    input_tokens_histogram: str
    output_tokens_histogram: str
    # counter name -> the llm_cost.tokens sums it adds (latest only: the released set has none)
    usage_counters: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def latest(self) -> bool:
        return bool(self.usage_counters)


RELEASED = GenAiNames(
    cache_write_tokens=CACHE_WRITE_TOKENS,
    inference_duration=_gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
    operation_duration=_gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
    time_to_first_chunk=_gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
    input_tokens_histogram=_gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
    output_tokens_histogram=_gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE,
)
LATEST = GenAiNames(
    cache_write_tokens="gen_ai.usage.cache_write.input_tokens",
    inference_duration="gen_ai.client.inference.duration",
    operation_duration=_gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION,
    time_to_first_chunk="gen_ai.client.inference.time_to_first_chunk",
    input_tokens_histogram="gen_ai.client.inference.operation.input_tokens",
    output_tokens_histogram="gen_ai.client.inference.operation.output_tokens",
    usage_counters={
        "gen_ai.client.inference.usage.input_tokens": ("input", "cache_read", "cache_write"),
        "gen_ai.client.inference.usage.output_tokens": ("output",),
        "gen_ai.client.inference.usage.cache_read.input_tokens": ("cache_read",),
        "gen_ai.client.inference.usage.cache_write.input_tokens": ("cache_write",),
        "gen_ai.client.inference.usage.reasoning.output_tokens": ("reasoning",),
    },
)


COST_METRIC = "llm_cost.usd"
TOKENS_METRIC = "llm_cost.tokens"
SAVINGS_METRIC = "llm_cost.cache_savings.usd"
UNPRICED_METRIC = "llm_cost.unpriced"

MAX_CONTENT_CHARS = 16_384

# gen_ai.* names we write that the pinned conventions package does not define, and why.
_LATEST_SOURCE = "conventions main (docs/gen-ai/non-normative/migration.md), under " + LATEST_OPT_IN
EXTRA_GEN_AI_NAMES = {
    COST_TOTAL: "no cost convention yet (an open proposal); what Langfuse and OpenLIT read, in USD",
    **{name: _LATEST_SOURCE for name in LATEST.usage_counters},
    **{
        name: _LATEST_SOURCE
        for name in (
            LATEST.cache_write_tokens,
            LATEST.inference_duration,
            LATEST.time_to_first_chunk,
            LATEST.input_tokens_histogram,
            LATEST.output_tokens_histogram,
            TOKEN_MODALITY,
        )
    },
}
