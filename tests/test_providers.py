"""The provider table agrees with what is declared elsewhere (pyproject's entry points) and
with what the adapters do (the classes it names, the provider names they emit)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

import llm_cost_otel
from llm_cost_otel import providers
from llm_cost_otel.instrumentation import CostInstrumentor
from llm_cost_otel.pricing import catalog

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_pyproject_entry_points_are_the_table_rows() -> None:
    import tomllib

    declared = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]["opentelemetry_instrumentor"]
    assert declared == {a.entry_point: f"{a.module}:{a.instrumentor}" for a in providers.ADAPTERS}


@pytest.mark.parametrize("adapter", providers.ADAPTERS, ids=lambda a: a.name)
def test_each_row_names_an_instrumentor_of_its_module(adapter: providers.Adapter) -> None:
    assert importlib.util.find_spec(adapter.sdk) is not None, f"{adapter.sdk} is a test dependency"
    module = importlib.import_module(adapter.module)
    cls = getattr(module, adapter.instrumentor)
    assert isinstance(cls, type) and issubclass(cls, BaseInstrumentor) and issubclass(cls, CostInstrumentor)
    assert cls.__module__ == adapter.module  # its key in active(): the module its wrappers pass
    assert cls().instrumentation_dependencies()


def test_rows_are_unique() -> None:
    for field in ("name", "module", "instrumentor", "entry_point"):
        values = [getattr(a, field) for a in providers.ADAPTERS]
        assert len(values) == len(set(values)), field


def test_instrument_loads_one_instrumentor_per_row() -> None:
    found = [f"{type(i).__module__}.{type(i).__name__}" for i in llm_cost_otel._instrumentors()]
    assert found == [
        "llm_cost_otel.anthropic.AnthropicInstrumentor",
        "llm_cost_otel.google_genai.GoogleGenAIInstrumentor",
    ]


def test_the_catalog_maps_every_provider_name_as_before() -> None:
    assert dict(catalog.CATALOG_PROVIDERS) == {
        "anthropic": ("anthropic",),
        "aws.bedrock": ("aws", "anthropic"),
        "gcp.vertex_ai": ("google", "anthropic"),
        "gcp.gemini": ("google",),
        "azure.ai.foundry": ("azure", "anthropic"),
    }
    assert set(providers.PRICE_PROVIDERS) == {
        "anthropic",
        "aws.bedrock",
        "gcp.vertex_ai",
        "gcp.gemini",
        "azure.ai.foundry",
    }
    assert len(providers.PRICE_PROVIDERS) == len(set(providers.PRICE_PROVIDERS))


def _row(name: str) -> providers.Adapter:
    (row,) = [a for a in providers.ADAPTERS if a.name == name]
    return row


def test_every_anthropic_client_emits_a_provider_name_of_its_row() -> None:
    import anthropic

    clients = [getattr(anthropic, n) for n in dir(anthropic) if n.startswith(("Anthropic", "AsyncAnthropic"))]
    clients = [c for c in clients if isinstance(c, type) and issubclass(c, anthropic._base_client.BaseClient)]
    assert len(clients) >= 6  # Anthropic, Bedrock, Vertex, Foundry and their async twins at least
    emitted = {getattr(c, "_gen_ai_provider_name", "anthropic") for c in clients}
    assert emitted <= set(_row("anthropic").prices), emitted


def test_every_google_request_emits_a_provider_name_of_its_row() -> None:
    from llm_cost_otel import google_genai

    emitted = set()
    for vertexai in (False, True):
        models = SimpleNamespace(_api_client=SimpleNamespace(vertexai=vertexai))
        emitted.add(google_genai._provider(models))
    for server in ("https://generativelanguage.googleapis.com", "https://us-central1-aiplatform.googleapis.com"):
        api = SimpleNamespace(sdk_configuration=SimpleNamespace(server_url=server))
        emitted.add(google_genai._interaction_request(api, (), {"model": "gemini-2.5-flash"}).provider)
    assert emitted == {"gcp.gemini", "gcp.vertex_ai"}
    assert emitted <= set(_row("google_genai").prices)
