"""Ollama through the real ollama SDK against FakeOllamaServer."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.errors import ConfigurationError
from workbench.models.chunks import Phase
from workbench.testing import Reply, ToolCall

from provider_helpers import FAST_RETRY


def qwen(server, **kwargs):
    return wb.client("ollama:qwen3:8b", base_url=server.base_url, retry=FAST_RETRY, **kwargs)


@pytest.mark.parametrize("stream", [False, True])
def test_chat_with_native_thinking(ollama_server, stream):
    ollama_server.add(Reply(text="It is 4.", thinking="Two and two.", usage={"input_tokens": 9, "output_tokens": 4}))
    c = qwen(ollama_server, thinking=True)
    out = c.chat("2+2?", stream=stream)
    if stream:
        chunks = list(out)
        assert chunks[0].phase is Phase.THINKING and chunks[-1].phase is Phase.DONE
        out = "".join(ch.content for ch in chunks if ch.is_text())
    assert out == "It is 4."
    assert c.last_thinking == "Two and two."
    assert c.last_usage == {"input_tokens": 9, "output_tokens": 4}
    body = ollama_server.last_request.body
    assert body["think"] is True and body["stream"] is stream


def test_inline_tags_split_for_ollama(ollama_server):
    ollama_server.add(Reply(text="Yes.", thinking="check", thinking_style="tags", deltas=5))
    c = wb.client("ollama:deepseek-r1:8b", base_url=ollama_server.base_url)
    assert c.chat("ok?") == "Yes."
    assert c.last_thinking == "check"
    assert "think" not in ollama_server.last_request.body


def test_options_mapped_to_ollama_names(ollama_server):
    ollama_server.add(Reply(text="x"))
    c = qwen(ollama_server, generate_kwargs={"max_tokens": 20, "temperature": 0.1, "num_ctx": 4096,
                                             "keep_alive": "5m"})
    c.chat("hi")
    body = ollama_server.last_request.body
    assert body["options"] == {"num_predict": 20, "temperature": 0.1, "num_ctx": 4096}
    assert body["keep_alive"] == "5m"


def test_tool_calls_as_dicts_both_ways(ollama_server):
    ollama_server.add(Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 3})]), Reply(text="5"))

    @wb.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    c = qwen(ollama_server, tools=[add])
    assert c.chat("2+3?", stream=False) == "5"
    sent = ollama_server.last_request.body["messages"]
    assert sent[-2]["tool_calls"] == [{"function": {"name": "add", "arguments": {"a": 2, "b": 3}}}]
    assert sent[-1] == {"role": "tool", "content": "5", "tool_name": "add"}
    assert ollama_server.requests[0].body["tools"][0]["function"]["name"] == "add"


def test_images_go_as_base64_and_urls_are_refused(ollama_server):
    png = b"\x89PNG\r\n\x1a\nfake"
    ollama_server.add(Reply(text="a cat"))
    c = wb.client("ollama:gemma3:4b", base_url=ollama_server.base_url)
    assert c.chat("What is it?", images=[png]) == "a cat"
    user = ollama_server.last_request.body["messages"][-1]
    import base64
    assert user["content"] == "What is it?" and user["images"] == [base64.b64encode(png).decode()]
    with pytest.raises(ConfigurationError, match="not URLs"):
        c.chat("and this?", images=["https://x.test/cat.jpg"])
