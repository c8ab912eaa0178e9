"""Content capture is off by default; secrets never reach telemetry."""

from __future__ import annotations

import json
from typing import Any

import pytest

import llm_cost_otel
from support import anthropic_client, json_response, message_json, sse_response, stream_events

MSGS = [{"role": "user", "content": "my secret prompt"}]


def _all_telemetry_text(otel: Any) -> str:
    parts = []
    for span in otel.exporter.get_finished_spans():
        parts.append(span.to_json())
    data = otel.reader.get_metrics_data()
    parts.append(data.to_json() if data is not None else "")
    return "\n".join(parts)


def _calls(client: Any, sclient: Any) -> None:
    client.messages.create(model="claude-haiku-4-5", max_tokens=10, system="be brief", messages=MSGS)
    with sclient.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=MSGS) as s:
        s.get_final_message()


def test_content_not_recorded_by_default_and_no_api_key_anywhere(otel: Any) -> None:
    client = anthropic_client(lambda r: json_response(message_json(text="the secret answer")))
    sclient = anthropic_client(lambda r: sse_response(stream_events()))
    _calls(client, sclient)
    text = _all_telemetry_text(otel)
    assert "sk-ant-test-SECRET" not in text
    assert "x-api-key" not in text.lower()
    assert "my secret prompt" not in text
    assert "the secret answer" not in text
    assert "be brief" not in text
    assert len(otel.chat_spans()) == 2


def test_content_recorded_when_enabled(otel: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    llm_cost_otel.uninstrument()
    llm_cost_otel.instrument(tracer_provider=otel.tracer_provider, meter_provider=otel.meter_provider)
    client = anthropic_client(lambda r: json_response(message_json(text="the secret answer")))
    sclient = anthropic_client(lambda r: sse_response(stream_events()))
    _calls(client, sclient)
    plain, streamed = otel.chat_spans()
    assert json.loads(plain.attributes["gen_ai.input.messages"]) == MSGS
    assert json.loads(plain.attributes["gen_ai.system_instructions"]) == "be brief"
    assert "the secret answer" in plain.attributes["gen_ai.output.messages"]
    assert "w0 w1 w2" in streamed.attributes["gen_ai.output.messages"]
    text = _all_telemetry_text(otel)
    assert "sk-ant-test-SECRET" not in text
    # content is never put on metrics
    assert "my secret prompt" not in (otel.reader.get_metrics_data().to_json())
