"""Privacy and security: content capture semantics, no secret in any exported telemetry or
log, bounded metric attributes, and the compose stack's network and login settings."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from google.genai import types
from opentelemetry import baggage, context

import llm_cost_otel

from ._support import (
    ANTHROPIC_KEY,
    GEMINI_KEY,
    HAIKU,
    VERTEX_TOKEN,
    anthropic_client,
    async_anthropic_client,
    gemini_client,
    gemini_sse,
    json_response,
    message_json,
    reinstrument,
    response_json,
    sse_response,
    stream_events,
    vertex_client,
)

PROMPT = "my private prompt about project NIGHTJAR"
SYSTEM = "you are the NIGHTJAR assistant"
ANSWER = "the confidential answer NIGHTJAR-42"
AUTH_TOKEN = "auth-token-SECRET"
CUSTOM_SECRET = "custom-header-SECRET"
SECRETS = (ANTHROPIC_KEY, GEMINI_KEY, VERTEX_TOKEN, AUTH_TOKEN, CUSTOM_SECRET)
CONTENT = ("NIGHTJAR",)


def exported_text(otel: Any, caplog: pytest.LogCaptureFixture | None = None) -> str:
    """Everything the plugin exported or logged, as text."""
    parts = [span.to_json() for span in otel.exporter.get_finished_spans()]
    data = otel.reader.get_metrics_data()
    parts.append(data.to_json() if data is not None else "")
    if caplog is not None:
        parts += [caplog.text, *(r.getMessage() for r in caplog.records)]
    return "\n".join(parts)


@functools.cache
def clients() -> dict[str, Any]:
    """Built once: a google-genai client costs a TLS context (~70 ms)."""
    import anthropic

    return {
        "ok": anthropic_client(lambda r: json_response(message_json(model=HAIKU, text=ANSWER))),
        "streaming": anthropic_client(
            lambda r: sse_response(stream_events(model=HAIKU)),
            default_headers={"x-custom-auth": f"Bearer {CUSTOM_SECRET}"},
        ),
        "bearer": anthropic.Anthropic(
            api_key=None,
            auth_token=AUTH_TOKEN,
            max_retries=0,
            http_client=httpx2.Client(
                transport=httpx2.MockTransport(lambda r: json_response(message_json(model=HAIKU, text=ANSWER)))
            ),
        ),
        "denied": anthropic_client(
            lambda r: json_response(
                {"type": "error", "error": {"type": "authentication_error", "message": "denied"}}, 401
            )
        ),
        "down": anthropic_client(lambda r: (_ for _ in ()).throw(httpx2.ConnectError("refused"))),
        "unknown": anthropic_client(lambda r: json_response(message_json(model="acme-private-model", text=ANSWER))),
        "gemini": gemini_client(lambda r: httpx2.Response(200, json=response_json(text=ANSWER))),
        "gemini_stream": gemini_client(lambda r: gemini_sse([response_json(text=ANSWER)])),
        "vertex": vertex_client(lambda r: httpx2.Response(200, json=response_json(text=ANSWER))),
        "gemini_denied": gemini_client(
            lambda r: httpx2.Response(
                403, json={"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
            )
        ),
    }


def run_everything() -> None:
    """Every kind of call, successful and failing, on every provider and auth style (12 requests)."""
    import anthropic
    from google.genai import errors

    c = clients()
    messages = [{"role": "user", "content": PROMPT}]
    args = {"model": "claude-haiku-4-5", "max_tokens": 50, "system": SYSTEM, "messages": messages}
    c["ok"].messages.create(**args)
    c["ok"].messages.with_raw_response.create(**args).parse()
    with c["streaming"].messages.stream(**args) as stream:
        stream.get_final_text()
    c["bearer"].messages.create(extra_headers={"x-custom-auth": CUSTOM_SECRET}, **args)
    with pytest.raises(anthropic.AuthenticationError):
        c["denied"].messages.create(**args)
    with pytest.raises(anthropic.APIConnectionError):
        c["down"].messages.create(**args)
    c["unknown"].messages.create(**{**args, "model": "acme-private-model"})  # logs the unpriced warning

    async def async_calls() -> None:
        client = async_anthropic_client(lambda r: json_response(message_json(model=HAIKU, text=ANSWER)))
        await client.messages.create(**args)

    asyncio.run(async_calls())

    config = types.GenerateContentConfig(system_instruction=SYSTEM)
    c["gemini"].models.generate_content(model="gemini-2.5-flash", contents=PROMPT, config=config)
    list(c["gemini_stream"].models.generate_content_stream(model="gemini-2.5-flash", contents=PROMPT, config=config))
    c["vertex"].models.generate_content(model="gemini-2.5-flash", contents=PROMPT, config=config)
    with pytest.raises(errors.ClientError):
        c["gemini_denied"].models.generate_content(model="gemini-2.5-flash", contents=PROMPT)


# --- content capture ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "captured"),
    [
        (None, False),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("", False),
        ("garbage", False),
        ("NO_CONTENT", False),
        ("EVENT_ONLY", False),  # events are not emitted by this plugin: nothing on spans
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        ("SPAN_ONLY", True),
        ("span_and_event", True),
    ],
)
def test_content_capture_follows_the_environment_variable(
    otel: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str | None, captured: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="llm_cost_otel")
    if value is None:
        monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    else:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    reinstrument(otel)
    run_everything()
    spans = [s for s in otel.exporter.get_finished_spans() if s.kind.name == "CLIENT"]
    assert len(spans) == 12
    text = "\n".join(s.to_json() for s in spans)
    for word in CONTENT:
        assert (word in text) is captured
    content_attrs = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"}
    with_content = [s for s in spans if content_attrs & set(s.attributes)]
    if captured:
        ok = [s for s in spans if s.status.status_code.name != "ERROR"]
        assert all("gen_ai.input.messages" in s.attributes for s in ok)
        assert all("gen_ai.output.messages" in s.attributes for s in ok)
        assert any(ANSWER in s.attributes["gen_ai.output.messages"] for s in ok)
        assert any(SYSTEM in s.attributes.get("gen_ai.system_instructions", "") for s in ok)
    else:
        assert with_content == []
    # content never reaches metrics or logs, whatever the setting
    data = otel.reader.get_metrics_data()
    assert all(word not in data.to_json() for word in CONTENT)
    assert all(word not in caplog.text for word in CONTENT)


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("capture", ["false", "true"])
def test_no_secret_or_auth_header_in_any_exported_telemetry_or_log(
    otel: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capture: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="llm_cost_otel")
    caplog.set_level(logging.DEBUG, logger="opentelemetry")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", capture)
    reinstrument(otel)
    from llm_cost_otel import _safety, telemetry

    real = telemetry.Telemetry.record_first_chunk

    def failing(*args: Any, **kwargs: Any) -> None:  # exercise the logged-failure path too
        real(*args, **kwargs)
        raise RuntimeError("metrics backend unavailable")

    monkeypatch.setattr(telemetry.Telemetry, "record_first_chunk", failing)
    monkeypatch.setattr(_safety, "_reported", set())
    run_everything()
    text = exported_text(otel, caplog)
    assert "telemetry failed" in caplog.text  # the failure path was logged (and scanned)
    assert "no price known" in caplog.text
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked into telemetry"
    lowered = text.lower()
    for header in ("x-api-key", "x-goog-api-key", "authorization", "bearer ", "x-custom-auth"):
        assert header not in lowered, f"header {header!r} leaked into telemetry"


# --- metric attributes ------------------------------------------------------------------------

ALWAYS_ALLOWED = {
    "gen_ai.provider.name",
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.token.type",
    "llm_cost.component",
    "llm_cost.token.type",
    "error.type",
}
METRICS = (
    "llm_cost.usd",
    "llm_cost.tokens",
    "llm_cost.cache_savings.usd",
    "llm_cost.unpriced",
    "gen_ai.client.operation.duration",
    "gen_ai.client.token.usage",
    "gen_ai.client.operation.time_to_first_chunk",
)


@pytest.fixture
def user_baggage() -> Iterator[None]:
    """user.id and tenant also arrive as OTel baggage, as from an upstream service."""
    ctx = baggage.set_baggage("user.id", "baggage-user-77", baggage.set_baggage("tenant", "acme"))
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)


@pytest.mark.parametrize(
    ("allowlist", "via"),
    [((), "default"), (("tenant",), "argument"), (("tenant", "app.feature"), "environment")],
)
def test_metrics_carry_only_bounded_and_allowlisted_attributes(
    otel: Any, monkeypatch: pytest.MonkeyPatch, user_baggage: None, allowlist: tuple[str, ...], via: str
) -> None:
    if via == "argument":
        reinstrument(otel, metric_attributes=list(allowlist))
    elif via == "environment":
        monkeypatch.setenv("LLM_COST_OTEL_METRIC_ATTRIBUTES", ",".join(allowlist))
        reinstrument(otel)
    for n in range(5):
        scope = {"user.id": f"user-{n}", "session.id": f"s-{n}", "app.feature": "import", "request.path": f"/x/{n}"}
        with llm_cost_otel.track("job", **scope), llm_cost_otel.attributes(**{"user.email": f"u{n}@example.com"}):
            run_everything()
    allowed = ALWAYS_ALLOWED | set(allowlist)
    seen_keys: set[str] = set()
    for name in METRICS:
        points = otel.metric_points(name)
        assert points or name == "llm_cost.cache_savings.usd", f"no points for {name}"
        for point in points:
            keys = set(point.attributes)
            seen_keys |= keys
            assert keys <= allowed, f"{name} carries {sorted(keys - allowed)}"
    # tenant arrives only as baggage: untrusted, so not attribution unless the app opts in
    # (baggage_attributes; see test_baggage_is_attribution_only_when_opted_in)
    assert "tenant" not in seen_keys
    # the unbounded values stay on spans only
    spans = [s for s in otel.exporter.get_finished_spans() if s.kind.name == "CLIENT"]
    assert {s.attributes["user.id"] for s in spans} == {f"user-{n}" for n in range(5)}
    assert "user.email" in spans[0].attributes


# --- the compose stack --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
WEAK_PASSWORDS = {"", "admin", "password", "changeme", "grafana", "secret"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    if not COMPOSE.exists():
        pytest.skip("docker-compose.yml does not exist yet (the stack is being written separately)")
    import yaml

    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), "no services in docker-compose.yml"
    return data


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _grafana_services(compose: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, s) for n, s in compose["services"].items() if "grafana/grafana" in str(s.get("image", ""))]


def _grafana_ini() -> dict[str, dict[str, str]]:
    """[section] key = value from any grafana.ini / custom.ini shipped with the stack."""
    found: dict[str, dict[str, str]] = {}
    for path in [*ROOT.glob("grafana/**/*.ini")]:
        section = ""
        for raw in path.read_text().splitlines():
            line = raw.split(";", 1)[0].split("#", 1)[0].strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
            elif "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                found.setdefault(section, {})[key] = value.strip('"')
    return found


def test_compose_publishes_every_port_on_localhost_only(compose: dict[str, Any]) -> None:
    published = 0
    for name, service in compose["services"].items():
        assert service.get("network_mode") != "host", f"{name}: network_mode host bypasses port binding"
        for port in service.get("ports") or []:
            published += 1
            if isinstance(port, dict):  # long syntax
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port} is not bound to 127.0.0.1"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port!r} is published on every interface"
    assert published, "no published ports found: is this the stack file?"


def test_compose_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = str(service.get("image", ""))
        if image:
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: unpinned {image}"


def test_grafana_never_runs_with_its_builtin_admin_password(compose: dict[str, Any]) -> None:
    services = _grafana_services(compose)
    if not services:
        pytest.skip("no Grafana in the stack")
    ini = _grafana_ini().get("security", {})
    for name, service in services:
        env = _environment(service)
        password = env.get("GF_SECURITY_ADMIN_PASSWORD", ini.get("admin_password"))
        has_file = "GF_SECURITY_ADMIN_PASSWORD__FILE" in env or "admin_password__file" in ini
        assert password is not None or has_file, f"{name}: no admin password set: Grafana falls back to admin/admin"
        if password is not None:
            literal = _VARIABLE.sub(
                lambda m: m.group("arg") if m.group("op") in (":-", "-") else "<from env>", password
            )
            assert literal.strip().lower() not in WEAK_PASSWORDS, f"{name}: admin password is {literal!r}"


def test_grafana_admin_password_has_no_published_fallback(compose: dict[str, Any]) -> None:
    services = _grafana_services(compose)
    if not services:
        pytest.skip("no Grafana in the stack")
    for name, service in services:
        password = _environment(service).get("GF_SECURITY_ADMIN_PASSWORD", "")
        for match in _VARIABLE.finditer(password):
            assert match.group("op") not in (":-", "-"), f"{name}: admin password falls back to {match.group('arg')!r}"
        assert _VARIABLE.fullmatch(password.strip()) or "GF_SECURITY_ADMIN_PASSWORD__FILE" in _environment(service), (
            f"{name}: admin password is a literal in the compose file"
        )


def test_grafana_allows_no_anonymous_or_self_signed_up_editor(compose: dict[str, Any]) -> None:
    services = _grafana_services(compose)
    if not services:
        pytest.skip("no Grafana in the stack")
    ini = _grafana_ini()

    def setting(env: dict[str, str], variable: str, section: str, key: str, default: str) -> str:
        value = env.get(variable, ini.get(section, {}).get(key, default))
        return _VARIABLE.sub(lambda m: m.group("arg") or "", value).strip().lower()

    for name, service in services:
        env = _environment(service)
        if setting(env, "GF_AUTH_ANONYMOUS_ENABLED", "auth.anonymous", "enabled", "false") == "true":
            role = setting(env, "GF_AUTH_ANONYMOUS_ORG_ROLE", "auth.anonymous", "org_role", "viewer")
            assert role == "viewer", f"{name}: anonymous users get the {role} role"
        if setting(env, "GF_USERS_ALLOW_SIGN_UP", "users", "allow_sign_up", "false") == "true":
            role = setting(env, "GF_USERS_AUTO_ASSIGN_ORG_ROLE", "users", "auto_assign_org_role", "viewer")
            assert role == "viewer", f"{name}: self-signed-up users get the {role} role"
        assert setting(env, "GF_AUTH_PROXY_ENABLED", "auth.proxy", "enabled", "false") != "true", (
            f"{name}: auth proxy trusts a header anyone on the network can set"
        )


def test_prometheus_admin_api_is_off(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        command = service.get("command") or []
        flags = command.split() if isinstance(command, str) else [str(c) for c in command]
        assert "--web.enable-admin-api" not in flags, f"{name}: the unauthenticated TSDB admin API is on"
