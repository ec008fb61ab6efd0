"""OpenAI and the OpenAI-compatible family, through the real openai SDK against the fake server."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.models.chunks import Phase
from workbench.testing import Reply

from provider_helpers import FAST_RETRY


def compat(server, model="fake-model", **kwargs):
    return wb.client(f"openai-compat:{model}@{server.base_url}", retry=FAST_RETRY, **kwargs)


def test_chat_non_streaming_appends_the_exchange(openai_server):
    openai_server.add(Reply(text="Seven.", usage={"input_tokens": 11, "output_tokens": 2}))
    c = compat(openai_server, system="You are terse.")
    assert c.chat("Name a prime") == "Seven."
    assert c.messages == [{"role": "system", "content": "You are terse."},
                          {"role": "user", "content": "Name a prime"},
                          {"role": "assistant", "content": "Seven."}]
    assert c.last_usage == {"input_tokens": 11, "output_tokens": 2}
    body = openai_server.last_request.body
    assert body["model"] == "fake-model" and "stream" not in body
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}


def test_chat_streaming_yields_text_deltas_and_one_done(openai_server):
    openai_server.add(Reply(text="one two three four", deltas=4))
    c = compat(openai_server)
    chunks = list(c.chat("Count", stream=True))
    texts = [ch.content for ch in chunks if ch.phase is Phase.TEXT]
    assert len(texts) == 4 and "".join(texts) == "one two three four"
    done = [ch for ch in chunks if ch.phase is Phase.DONE]
    assert len(done) == 1 and chunks[-1] is done[0]
    assert done[0].content["finish_reason"] == "stop"
    assert done[0].content["elapsed_s"] >= 0
    assert done[0].content["usage"]["output_tokens"] > 0
    assert c.messages[-1] == {"role": "assistant", "content": "one two three four"}
    assert openai_server.last_request.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_native_reasoning_fields_become_thinking(openai_server, stream, field):
    openai_server.add(Reply(text="4", thinking="2+2 is 4", reasoning_field=field))
    c = compat(openai_server)
    if stream:
        chunks = list(c.chat("2+2?", stream=True, include=["thinking", "text"]))
        assert "".join(ch.content for ch in chunks if ch.is_thinking()) == "2+2 is 4"
        assert "".join(ch.content for ch in chunks if ch.is_text()) == "4"
    else:
        assert c.chat("2+2?") == "4"
    assert c.last_thinking == "2+2 is 4"
    assert c.messages[-1] == {"role": "assistant", "content": "4", "thinking": "2+2 is 4"}


@pytest.mark.parametrize("stream", [False, True])
def test_inline_think_tags_are_split(openai_server, stream):
    openai_server.add(Reply(text="The answer is 4.", thinking="Adding two and two.", thinking_style="tags",
                            deltas=9))
    c = compat(openai_server)
    out = c.chat("2+2?", stream=stream)
    if stream:
        chunks = list(out)
        assert {ch.phase for ch in chunks} == {Phase.THINKING, Phase.TEXT, Phase.DONE}
        out = "".join(ch.content for ch in chunks if ch.is_text())
    assert out == "The answer is 4."
    assert c.last_thinking == "Adding two and two."
    # Thinking never goes back to the server in later turns.
    openai_server.add(Reply(text="6"))
    c.chat("and 3+3?")
    sent = openai_server.last_request.body["messages"]
    assert sent[1] == {"role": "assistant", "content": "The answer is 4."}


def test_think_tags_in_a_code_fence_stay_text(openai_server):
    text = "Example:\n```\n<think>literal</think>\n```"
    openai_server.add(Reply(text=text, deltas=13))
    c = compat(openai_server)
    assert c.chat("show me") == text
    assert c.last_thinking == ""


def test_generate_does_not_touch_messages(openai_server):
    openai_server.add(Reply(text="8"), Reply(text="again"))
    c = compat(openai_server, system="Judge.")
    assert c.generate("Score this 1-10: ok") == "8"
    assert c.messages == [{"role": "system", "content": "Judge."}]
    chunks = list(c.generate("stream it", stream=True, include="text"))
    assert "".join(ch.content for ch in chunks) == "again"
    assert c.messages == [{"role": "system", "content": "Judge."}]
    assert openai_server.last_request.body["messages"] == [{"role": "system", "content": "Judge."},
                                                           {"role": "user", "content": "stream it"}]
