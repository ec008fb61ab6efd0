"""Anthropic through the real anthropic SDK against FakeAnthropicServer."""

from __future__ import annotations

import copy

import pytest

import workbench as wb
from workbench.errors import ConfigurationError
from workbench.models.chunks import Phase
from workbench.models.spec import ModelSpec
from workbench.models.wire import anthropic_messages
from workbench.testing import Reply, ToolCall

from provider_helpers import FAST_RETRY


def claude(server, **kwargs):
    return wb.client("anthropic:claude-sonnet-4-6", api_key="sk-ant-test", base_url=server.base_url,
                     retry=FAST_RETRY, **kwargs)


def test_chat_non_streaming(anthropic_server):
    anthropic_server.add(Reply(text="Seven.", usage={"input_tokens": 12, "output_tokens": 3}))
    c = claude(anthropic_server, system="You are terse.")
    assert c.chat("Name a prime") == "Seven."
    assert c.last_usage == {"input_tokens": 12, "output_tokens": 3}
    assert c.last_finish_reason == "stop"
    body = anthropic_server.last_request.body
    assert body["system"] == "You are terse."
    assert body["messages"] == [{"role": "user", "content": "Name a prime"}]
    assert body["max_tokens"] == anthropic_messages.DEFAULT_MAX_TOKENS
    assert "thinking" not in body
    headers = anthropic_server.last_request.headers
    assert "sk-ant-test" in (headers.get("x-api-key", "") + headers.get("authorization", ""))


def test_streaming_thinking_blocks_come_apart(anthropic_server):
    anthropic_server.add(Reply(text="It is 4.", thinking="Two plus two.", deltas=3))
    c = claude(anthropic_server, thinking=True)
    chunks = list(c.chat("2+2?", stream=True))
    phases = [ch.phase for ch in chunks]
    assert phases[:3] == [Phase.THINKING] * 3 and phases[3:6] == [Phase.TEXT] * 3 and phases[-1] is Phase.DONE
    assert c.last_thinking == "Two plus two."
    assert c.messages[-1] == {"role": "assistant", "content": "It is 4.", "thinking": "Two plus two.",
                              "provider_data": {"anthropic": {"thinking_blocks": [
                                  {"type": "thinking", "thinking": "Two plus two.", "signature": "fake-signature"}]}}}
    body = anthropic_server.last_request.body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": anthropic_messages.DEFAULT_THINKING_BUDGET}
    assert body["max_tokens"] > body["thinking"]["budget_tokens"]


def test_non_streaming_thinking_and_include(anthropic_server):
    anthropic_server.add(Reply(text="4", thinking="sum"))
    c = claude(anthropic_server)
    assert c.chat("2+2?", generate_kwargs={"thinking": 3000, "max_tokens": 5000}) == "4"
    assert c.last_thinking == "sum"
    assert anthropic_server.last_request.body["thinking"]["budget_tokens"] == 3000
    assert anthropic_server.last_request.body["max_tokens"] == 5000
    anthropic_server.add(Reply(text="5", thinking="more"))
    only_text = list(c.chat("again", stream=True, include=["text"]))
    assert [ch.content for ch in only_text] == ["5"]


def test_thinking_budget_must_fit_under_max_tokens(anthropic_server):
    c = claude(anthropic_server)
    with pytest.raises(ConfigurationError, match="max_tokens"):
        c.chat("hi", generate_kwargs={"thinking": 4000, "max_tokens": 1000})
    assert anthropic_server.requests == []


def test_thinking_not_sent_to_a_model_without_it():
    spec = ModelSpec("claude-old", thinking=False)
    assert "thinking" not in anthropic_messages.build_request(spec, [], None, {"thinking": True}, False)


def test_streamed_tool_use_assembled_from_json_deltas(anthropic_server):
    anthropic_server.add(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris", "unit": "C"}, id="toolu_1")]))
    c = claude(anthropic_server)
    chunks = list(c.chat("Weather in Paris?", stream=True, include=["tool_call"]))
    assert [ch.content for ch in chunks] == [{"id": "toolu_1", "name": "get_weather",
                                              "arguments": {"city": "Paris", "unit": "C"}}]
    assert c.last_finish_reason == "tool_calls"


def test_history_translation_merges_roles_and_keeps_the_list_untouched():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": "", "thinking": "two calls",
         "tool_calls": [{"id": "a", "type": "function", "function": {"name": "w", "arguments": '{"city": "Paris"}'}},
                        {"id": "b", "type": "function", "function": {"name": "w", "arguments": '{"city": "Rome"}'}}]},
        {"role": "tool", "tool_call_id": "a", "name": "w", "content": "20C"},
        {"role": "tool", "tool_call_id": "b", "name": "w", "content": "25C"},
        {"role": "user", "content": [{"type": "text", "text": "And this?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}}]},
    ]
    before = copy.deepcopy(messages)
    system, wire = anthropic_messages.to_wire(messages)
    assert messages == before
    assert system == "Be brief."
    assert [m["role"] for m in wire] == ["user", "assistant", "user"]
    assert wire[1]["content"] == [
        {"type": "tool_use", "id": "a", "name": "w", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "b", "name": "w", "input": {"city": "Rome"}}]
    # Both tool results and the next user turn share one user message.
    assert wire[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "a", "content": "20C"},
        {"type": "tool_result", "tool_use_id": "b", "content": "25C"},
        {"type": "text", "text": "And this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}}]


def test_tool_choice_and_stop_translate():
    request = anthropic_messages.build_request(
        ModelSpec("claude-x"), [{"role": "user", "content": "hi"}],
        [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}],
        {"stop": "END", "tool_choice": "required", "seed": 1, "temperature": 0.2}, False)
    assert request["tools"] == [{"name": "f", "description": "d", "input_schema": {"type": "object"}}]
    assert request["stop_sequences"] == ["END"] and request["tool_choice"] == {"type": "any"}
    assert "seed" not in request and request["extra_body"]["temperature"] == 0.2


def test_sampling_options_reach_the_wire_through_the_sdk(anthropic_server):
    anthropic_server.add(Reply(text="ok"))
    c = claude(anthropic_server)
    assert c.chat("hi", generate_kwargs={"temperature": 0.3, "top_p": 0.9, "top_k": 5}) == "ok"
    body = anthropic_server.last_request.body
    assert (body["temperature"], body["top_p"], body["top_k"]) == (0.3, 0.9, 5)


def test_thinking_with_tools_replays_signed_thinking_before_tool_use(anthropic_server):
    @wb.tool
    def lookup(word: str) -> str:
        """Look a word up."""
        return word.upper()

    anthropic_server.add(Reply(thinking="I should look it up.", tool_calls=[ToolCall("lookup", {"word": "hi"})]),
                         Reply(text="HI"))
    c = claude(anthropic_server, tools=[lookup], thinking=True)
    assert c.chat("Look up hi") == "HI"
    first, second = (r.body for r in anthropic_server.requests)
    assert first["thinking"]["type"] == "enabled"
    # The API wants the turn's signed thinking replayed first, and thinking stays on.
    assert second["thinking"]["type"] == "enabled"
    assistant = second["messages"][1]["content"]
    assert assistant[0] == {"type": "thinking", "thinking": "I should look it up.", "signature": "fake-signature"}
    assert assistant[1]["type"] == "tool_use"
    assert second["messages"][-1]["content"][0]["type"] == "tool_result"
    assert c.last_thinking == "I should look it up."


def test_history_from_elsewhere_continues_tool_turn_without_thinking():
    # No signed blocks (e.g. a history restored from another provider): thinking is left off
    # for the continuation instead of a 400 from the API.
    messages = [{"role": "user", "content": "q"},
                {"role": "assistant", "content": "", "thinking": "plain text only",
                 "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "a", "name": "f", "content": "x"}]
    request = anthropic_messages.build_request(ModelSpec("claude-x", thinking=True), messages, None,
                                               {"thinking": True}, False)
    assert "thinking" not in request
    assert all(b["type"] != "thinking" for b in request["messages"][1]["content"])


def test_signed_thinking_never_reaches_other_providers():
    from workbench.models.wire import openai_chat
    message = {"role": "assistant", "content": "x", "thinking": "t",
               "provider_data": {"anthropic": {"thinking_blocks": [{"type": "thinking", "signature": "s"}]}}}
    request = openai_chat.build_request(ModelSpec("gpt-x"), [{"role": "user", "content": "q"}, message], None, {}, False)
    assert request["messages"][1] == {"role": "assistant", "content": "x"}

