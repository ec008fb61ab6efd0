"""The issue's examples, run against the fake servers."""

from __future__ import annotations

import workbench as wb
from workbench.testing import Reply


def test_readme_examples(anthropic_server, openai_server):
    anthropic_server.add(Reply(text="Hello!"))
    assert wb.chat("Hi", model="anthropic:claude-sonnet-4-6", api_key="k",
                   base_url=anthropic_server.base_url) == "Hello!"

    c = wb.client("openai:gpt-4.1", system="You are terse.", api_key="k", base_url=openai_server.base_url)
    openai_server.add(Reply(text="7"), Reply(text="9"), Reply(text="Fine.", thinking="Think first."))
    assert c.chat("Name a prime") == "7"
    saved = list(c.messages)
    assert c.generate("Score this 1-10: ...") == "9"
    assert c.messages == saved
    chunks = list(c.chat("Think, then answer", stream=True, include=["thinking", "text"]))
    assert {ch.phase.value for ch in chunks} == {"thinking", "text"}
    assert all(ch.agent is None and ch.iteration == 0 for ch in chunks)
    assert c.last_thinking == "Think first."
    assert c.last_usage["input_tokens"] > 0 and c.last_usage["output_tokens"] > 0

    c.reset()
    assert c.messages == [{"role": "system", "content": "You are terse."}]
    c.restore(saved)
    assert c.messages == saved
    assert [m["role"] for m in c.messages].count("system") == 1
    openai_server.add(Reply(text="11"))
    assert c.chat("Another") == "11"
    sent = openai_server.last_request.body["messages"]
    assert sent[:3] == [{"role": "system", "content": "You are terse."},
                        {"role": "user", "content": "Name a prime"},
                        {"role": "assistant", "content": "7"}]


def test_stream_4000_tokens_quickly(openai_server):
    words = " ".join(f"w{i}" for i in range(4000))
    openai_server.add(Reply(text=words))
    c = wb.client(f"openai-compat:m@{openai_server.base_url}")
    deltas = [ch for ch in c.chat("go", stream=True) if ch.is_text()]
    assert len(deltas) == 4000 and "".join(ch.content for ch in deltas) == words
