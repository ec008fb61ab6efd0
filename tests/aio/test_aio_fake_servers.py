"""aio clients through the real async SDKs against the fake servers (openai, anthropic, ollama)."""

from __future__ import annotations

import asyncio

import pytest

import workbench as wb
from workbench import aio
from workbench.models.retry import RetryPolicy
from workbench.testing import FakeAnthropicServer, FakeOllamaServer, FakeOpenAIServer, Reply, ToolCall

FAMILIES = {
    "openai": (FakeOpenAIServer, "openai:gpt-4.1"),
    "anthropic": (FakeAnthropicServer, "anthropic:claude-sonnet-4-6"),
    "ollama": (FakeOllamaServer, "ollama:qwen3:8b"),
}
NO_WAIT = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, max_total_wait=0.0)


@pytest.fixture(params=list(FAMILIES))
def family(request):
    server_class, model = FAMILIES[request.param]
    with server_class() as server:
        yield server, model


def options(server):
    return dict(api_key="k", base_url=server.base_url, retry=NO_WAIT)


def test_one_shot_chat(family):
    server, model = family
    server.add(Reply(text="Hello from the fake."))
    answer = asyncio.run(aio.chat("Hi", model=model, system="Be brief.", **options(server)))
    assert answer == "Hello from the fake."


def test_stream_splits_thinking_and_keeps_history(family):
    server, model = family
    server.add(Reply(text="The answer is 42.", thinking="17 plus 25 is 42."))
    client = aio.client(model, system="Be brief.", **options(server))

    async def main():
        phases, text = [], []
        async for chunk in await client.chat("What is 17+25?", stream=True):
            phases.append(chunk.phase.value)
            if chunk.is_text():
                text.append(chunk.content)
        await client.aclose()
        return phases, "".join(text)

    phases, text = asyncio.run(main())
    assert text == "The answer is 42."
    assert phases[0] == "thinking" and phases[-1] == "done" and "text" in phases
    assert client.last_thinking == "17 plus 25 is 42."
    assert client.messages[-1]["content"] == "The answer is 42."
    assert [m["role"] for m in client.messages] == ["system", "user", "assistant"]


def test_async_and_sync_clients_send_the_same_request(family):
    """The sharing check: one request builder and one parser serve both drivers."""
    server, model = family
    server.add(Reply(text="same"), Reply(text="same"))

    @wb.tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return "sunny"

    sync = wb.client(model, system="S", tools=[get_weather], **options(server))
    async_client = aio.client(wb.client(model, system="S", tools=[get_weather], **options(server)))
    assert sync.chat("Weather?", generate_kwargs={"max_tokens": 50}) == "same"
    assert asyncio.run(async_client.chat("Weather?", generate_kwargs={"max_tokens": 50})) == "same"
    first, second = server.requests[-2:]
    assert first.path == second.path and first.body == second.body
    assert sync.messages == async_client.messages


def test_tool_loop_with_an_async_tool(family):
    server, model = family
    seen = []

    @wb.tool
    async def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        await asyncio.sleep(0)
        seen.append(city)
        return f"sunny in {city}, 21 C"

    server.add(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"}, id="t1")]),
               Reply(text="It is sunny in Paris, 21 C."))
    client = aio.client(model, tools=[get_weather], **options(server))
    assert asyncio.run(client.chat("What is the weather in Paris?")) == "It is sunny in Paris, 21 C."
    assert seen == ["Paris"]
    tool_message = next(m for m in client.messages if m["role"] == "tool")
    assert tool_message["content"] == "sunny in Paris, 21 C"


def test_cut_stream_keeps_history_consistent(family):
    server, model = family
    server.add(Reply(text="one two three four five six", deltas=6, drop_after=2))
    client = aio.client(model, **options(server))
    async def main():
        async for _ in await client.chat("count", stream=True):
            pass

    with pytest.raises(wb.errors.ProviderError) as info:
        asyncio.run(main())
    assert client.messages == [{"role": "user", "content": "count"}]
    assert info.value.partial is not None

def test_one_shot_stream_and_context_manager(family):
    server, model = family
    server.add(Reply(text="streamed one shot"), Reply(text="in a with block"))

    async def main():
        text = [c.content async for c in await aio.chat("Hi", model=model, stream=True, include="text",
                                                         **options(server))]
        async with aio.client(model, **options(server)) as client:
            answer = await client.chat("Hi")
        return "".join(text), answer

    assert asyncio.run(main()) == ("streamed one shot", "in a with block")
