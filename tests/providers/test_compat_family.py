"""The OpenAI-compatible family: base URLs, keys, per-server request details, vision, tools."""

from __future__ import annotations

import base64

import pytest

import workbench as wb
from workbench.errors import ConfigurationError
from workbench.models.spec import ModelSpec
from workbench.models.wire import openai_chat
from workbench.testing import Reply, ToolCall

PNG = b"\x89PNG\r\n\x1a\n-fake-pixels-"


@pytest.mark.filterwarnings("ignore::workbench.models.strings.UnknownModelWarning")
@pytest.mark.parametrize("provider", ["gemini", "vllm", "lmstudio", "llamacpp-server", "hf-serve"])
def test_base_url_override_reaches_the_fake_server(openai_server, provider):
    openai_server.add(Reply(text=f"hi from {provider}"))
    c = wb.client(f"{provider}:some-model", api_key="k", base_url=openai_server.base_url)
    assert c.chat("hello") == f"hi from {provider}"
    assert openai_server.last_request.path == "/v1/chat/completions"
    assert openai_server.last_request.body["model"] == "some-model"


def test_base_url_from_the_environment(openai_server, monkeypatch):
    monkeypatch.setenv("VLLM_BASE_URL", openai_server.base_url)
    openai_server.add(Reply(text="env"))
    assert wb.client("vllm:Qwen/Qwen3-8B").chat("hello") == "env"
    # An explicit base_url= wins over the environment.
    monkeypatch.setenv("GEMINI_BASE_URL", "http://127.0.0.1:9/v1")
    openai_server.add(Reply(text="kwarg"))
    assert wb.client("gemini:gemini-2.5-flash", api_key="k", base_url=openai_server.base_url).chat("x") == "kwarg"


def test_openai_compat_url_in_the_model_string(openai_server):
    openai_server.add(Reply(text="ok"))
    c = wb.client(f"openai-compat:my-model@{openai_server.base_url}")
    assert c.chat("hello") == "ok"
    assert c.base_url == openai_server.base_url
    # No key needed: the SDK gets a placeholder, never a real secret.
    assert openai_server.last_request.headers["authorization"] == "Bearer not-needed"


def test_openai_compat_without_url_says_how_to_give_one():
    with pytest.raises(ConfigurationError, match="openai-compat:MODEL@"):
        wb.client("openai-compat:my-model")


def test_openai_reasoning_models_get_effort_and_max_completion_tokens(openai_server):
    openai_server.add(Reply(text="ok"), Reply(text="ok"))
    c = wb.client("openai:o4-mini", api_key="k", base_url=openai_server.base_url)
    c.chat("hi", generate_kwargs={"thinking": "high", "max_tokens": 50, "seed": 3, "top_k": 5})
    body = openai_server.last_request.body
    assert body["reasoning_effort"] == "high" and body["max_completion_tokens"] == 50
    assert body["seed"] == 3 and body["top_k"] == 5   # unknown names travel in extra_body
    c2 = wb.client("openai:gpt-4.1", api_key="k", base_url=openai_server.base_url, thinking=True)
    c2.chat("hi")
    assert "reasoning_effort" not in openai_server.last_request.body   # gpt-4.1 would reject it


def test_template_servers_get_enable_thinking(openai_server):
    openai_server.add(Reply(text="ok"))
    c = wb.client("vllm:Qwen/Qwen3-8B", base_url=openai_server.base_url, thinking=False)
    c.chat("hi")
    assert openai_server.last_request.body["chat_template_kwargs"] == {"enable_thinking": False}


def test_no_thinking_params_unless_asked():
    request = openai_chat.build_request(ModelSpec("o4-mini", thinking=True), [], None, {}, True)
    assert "reasoning_effort" not in request and "extra_body" not in request


@pytest.mark.parametrize("stream", [False, True])
def test_vision_parts_reach_the_wire(openai_server, tmp_path, stream):
    path = tmp_path / "cat.png"
    path.write_bytes(PNG)
    openai_server.add(Reply(text="a cat"))
    c = wb.client("openai:gpt-4.1", api_key="k", base_url=openai_server.base_url)
    out = c.chat("What is it?", images=[path, PNG, "https://x.test/cat.jpg"], stream=stream)
    if stream:
        list(out)
    parts = openai_server.last_request.body["messages"][-1]["content"]
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert parts == [{"type": "text", "text": "What is it?"},
                     {"type": "image_url", "image_url": {"url": data_url}},
                     {"type": "image_url", "image_url": {"url": data_url}},
                     {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg"}}]


def test_vision_reaches_anthropic_as_image_blocks(anthropic_server):
    anthropic_server.add(Reply(text="a cat"))
    c = wb.client("anthropic:claude-sonnet-4-6", api_key="k", base_url=anthropic_server.base_url)
    c.chat("What is it?", images=[PNG, "https://x.test/cat.jpg"])
    content = anthropic_server.last_request.body["messages"][-1]["content"]
    assert content == [
        {"type": "text", "text": "What is it?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": base64.b64encode(PNG).decode()}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}}]


@pytest.mark.parametrize("stream", [False, True])
def test_streamed_tool_call_arguments_are_accumulated(openai_server, stream):
    calls = [ToolCall("get_weather", {"city": "Paris"}, id="c1"), ToolCall("get_time", {"tz": "CET"}, id="c2")]
    openai_server.add(Reply(tool_calls=calls))
    c = wb.client("openai:gpt-4.1", api_key="k", base_url=openai_server.base_url)
    out = list(c.chat("weather and time?", stream=True, include="tool_call")) if stream else None
    if not stream:
        c.chat("weather and time?")
    requested = [{"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}},
                 {"id": "c2", "name": "get_time", "arguments": {"tz": "CET"}}]
    if stream:
        assert [ch.content for ch in out] == requested
    assert c.messages[-1]["tool_calls"][1] == {"id": "c2", "type": "function",
                                               "function": {"name": "get_time", "arguments": '{"tz": "CET"}'}}
    assert c.last_finish_reason == "tool_calls"


def test_malformed_tool_arguments_stay_a_string(openai_server):
    openai_server.add(Reply(tool_calls=[ToolCall("f", '{"a": 1', id="c1")]))
    c = wb.client("openai:gpt-4.1", api_key="k", base_url=openai_server.base_url)
    chunks = list(c.chat("x", stream=True, include="tool_call"))
    assert chunks[0].content["arguments"] == '{"a": 1'


@pytest.mark.parametrize("server_fixture, model", [("openai_server", "openai:gpt-4.1"),
                                                    ("anthropic_server", "anthropic:claude-sonnet-4-6"),
                                                    ("ollama_server", "ollama:qwen3:8b")])
@pytest.mark.parametrize("stream", [False, True])
def test_the_tool_loop_runs_a_tool_against_each_family(request, server_fixture, model, stream):
    server = request.getfixturevalue(server_fixture)

    @wb.tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    server.add(Reply(tool_calls=[ToolCall("multiply", {"a": 6, "b": 7}, id="call_m")]), Reply(text="It is 42."))
    c = wb.client(model, api_key="k", base_url=server.base_url, tools=[multiply])
    if stream:
        chunks = list(c.chat("6 times 7?", stream=True))
        phases = [ch.phase.value for ch in chunks]
        assert phases.index("tool_call") < phases.index("tool_result") < phases.index("text")
        assert [ch.content["content"] for ch in chunks if ch.phase.value == "tool_result"] == ["42"]
    else:
        assert c.chat("6 times 7?") == "It is 42."
    assert [m["role"] for m in c.messages] == ["user", "assistant", "tool", "assistant"]
    assert c.messages[2]["content"] == "42"
    assert len(server.requests) == 2
    second = server.requests[1].body
    assert second["tools"] and len(second["messages"]) >= 2
