"""aio on the in-process tiny model: shared state and weights, inference off the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings

import pytest

import workbench as wb
from workbench import aio

from workbench.builtin.tiny_corpus import EXPECTED  # noqa: E402

MODEL = "hf:workbench-tiny"


@pytest.fixture(scope="module")
def sync_client():
    return wb.client(MODEL)


def tiny_entries():
    return [e for e in wb.cache_info() if e.provider == "hf" and "workbench-tiny" in e.model]


def test_wrapping_shares_messages_and_weights(sync_client):
    sync_client.reset()
    client = aio.client(sync_client)
    assert client.messages is sync_client.messages
    assert client._hf_model is sync_client._hf_model
    math = EXPECTED["math"]
    assert asyncio.run(client.chat("What is 17+25?")) == math.answer
    assert client.last_thinking.strip() == math.thinking
    assert sync_client.messages[-1]["content"] == math.answer  # the sync client sees the async turn
    assert sync_client.chat("Hi") == EXPECTED["greeting"].answer  # and continues it
    assert len(client.messages) == 4


def test_building_from_the_model_string_takes_the_cached_weights(sync_client):
    before = tiny_entries()
    assert len(before) == 1
    client = aio.client(MODEL)
    after = tiny_entries()
    assert len(after) == 1 and after[0].loaded_at == before[0].loaded_at  # never loaded a second time
    assert after[0].hits > before[0].hits
    assert client._hf_model is sync_client._hf_model
    assert client.messages is not sync_client.messages  # its own conversation
    assert asyncio.run(client.chat("What is the capital of France?")) == EXPECTED["capital"].answer


def test_inference_runs_off_the_event_loop(sync_client):
    client = aio.client(MODEL)
    ticks = []

    async def main():
        stop = asyncio.Event()

        async def ticker():
            while not stop.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        answer = await client.chat("Tell me a story", generate_kwargs={"max_tokens": 200})
        stop.set()
        await task
        return answer

    assert asyncio.run(main()) == EXPECTED["story"].answer
    assert len(ticks) > 5


def _aio_threads():
    return [t for t in threading.enumerate() if t.name.startswith("workbench-aio-")]


def test_cancelling_a_stream_stops_generation_and_keeps_history(sync_client):
    client = aio.client(MODEL, system="You are terse.")

    async def main():
        seen = []

        async def consume():
            async for chunk in await client.chat("Tell me a story", stream=True, include=["text"]):
                seen.append(chunk.content)
                if len(seen) == 1:   # cancelled at its next await, inside the stream (a turn may be one burst)
                    asyncio.current_task().cancel()

        task = asyncio.create_task(consume())
        with pytest.raises(asyncio.CancelledError):
            await task
        return "".join(seen)

    partial = asyncio.run(main())
    deadline = time.monotonic() + 10
    while _aio_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _aio_threads(), "the generation thread kept running after the consumer was cancelled"
    assert client.messages == [{"role": "system", "content": "You are terse."},
                               {"role": "user", "content": "Tell me a story"}]
    assert client.last_partial.text.startswith(partial)
    # The turn ended where its consumer stopped: it never reached its done chunk. (How much
    # text the model had computed by then depends on its speed: HF generates in bursts.)
    assert not client.last_partial.done


def test_async_tool_loop_and_agent_on_the_tiny_model():
    calls = []

    @wb.tool
    async def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        await asyncio.sleep(0)
        return "sunny, 21 C"

    client = aio.client(MODEL, tools=[get_weather])
    assert asyncio.run(client.chat("What is the weather in Paris?")) == "It is sunny in Paris, 21 C."
    assert calls == ["Paris"]
    assert [m["role"] for m in client.messages] == ["user", "assistant", "tool", "assistant"]

    agent = aio.Agent(aio.client(MODEL), tools=[get_weather], max_iterations=1)
    with warnings.catch_warnings():
        # the client's tool loop ran the tool and the model answered: the task is complete in one
        # iteration, so max_iterations=1 is enough and nothing warns
        warnings.simplefilter("error", wb.agents.MaxIterationsWarning)
        answer = asyncio.run(agent.run("What is the weather in Paris?"))
    assert answer == "It is sunny in Paris, 21 C." and agent.last_outcome == "completed"
    assert agent.iterations == 1
    assert [m["role"] for m in agent.model_client.messages] == ["user", "assistant", "tool", "assistant"]
    assert calls == ["Paris", "Paris"]


def test_llamacpp_client_is_wrapped_the_same_way():
    sync = wb.client("llamacpp:workbench-tiny")
    client = aio.client(sync)
    assert asyncio.run(client.chat("What is 17+25?")) == EXPECTED["math"].answer
    assert client.messages is sync.messages and len(sync.messages) == 2
    entries = [e for e in wb.cache_info() if e.provider == "llamacpp"]
    other = aio.client("llamacpp:workbench-tiny")
    after = [e for e in wb.cache_info() if e.provider == "llamacpp"]
    assert len(after) == len(entries) == 1 and after[0].loaded_at == entries[0].loaded_at
    assert after[0].hits > entries[0].hits

    async def stream():
        return "".join([c.content async for c in await other.chat("Hi", stream=True, include="text")])

    assert asyncio.run(stream()) == EXPECTED["greeting"].answer
