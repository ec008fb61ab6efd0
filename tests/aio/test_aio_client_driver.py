"""The async driver over a sync provider (thread bridge) and over an async-only provider."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import workbench as wb
from workbench import aio
from workbench.errors import ServerError
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.turn import done_chunk

MODEL = "openai-compat:scripted@http://127.0.0.1:9/v1"


class ScriptedSync(wb.BaseModelClient):
    """A sync provider whose turns are scripted: lists of chunks (an Exception entry is raised)."""

    def __init__(self, *script, delay=0.0, **kw):
        super().__init__(MODEL, **kw)
        self.script = list(script)
        self.delay = delay
        self.closed = threading.Event()
        self.thread_names = []

    def _turn(self, messages, tools, options, stream):
        self.thread_names.append(threading.current_thread().name)
        self.seen = [dict(m) for m in messages]
        try:
            for item in self.script.pop(0):
                if self.delay:
                    time.sleep(self.delay)
                if isinstance(item, BaseException):
                    raise item
                yield StreamChunk(Phase.TEXT, item) if isinstance(item, str) else item
            yield done_chunk(finish_reason="stop", usage={"input_tokens": 3, "output_tokens": 2})
        finally:
            self.closed.set()


class EchoAsync(aio.AsyncBaseModelClient):
    """An async-only provider: echoes the last user message."""

    async def _aturn(self, messages, tools, options, stream):
        await asyncio.sleep(0)
        yield StreamChunk(Phase.THINKING, "echoing")
        yield StreamChunk(Phase.TEXT, "echo: " + messages[-1]["content"])
        yield done_chunk(finish_reason="stop")


def test_wrapping_shares_the_state_objects():
    sync = ScriptedSync(["Hel", "lo"], system="Be brief.")
    client = aio.client(sync)
    assert client.sync_client is sync
    assert client.messages is sync.messages
    assert asyncio.run(client.chat("Hi")) == "Hello"
    assert sync.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                             {"role": "assistant", "content": "Hello"}]
    client.system_message = "Be kind."          # a write through the wrapper lands on the sync client
    assert sync.system_message == "Be kind." and sync.messages[0]["content"] == "Be kind."
    client.reset()
    assert sync.messages == [{"role": "system", "content": "Be kind."}]
    assert sync.thread_names[0].startswith("workbench-aio-")  # inference ran off the event loop
    assert "messages=1" in repr(client)


def test_stream_is_an_async_iterator_and_include_filters():
    sync = ScriptedSync([StreamChunk(Phase.THINKING, "hmm"), "a", "b"])
    client = aio.client(sync)

    async def main():
        stream = await client.chat("x", stream=True, include=["text"])
        assert hasattr(stream, "__anext__")
        return [c.content async for c in stream]

    assert asyncio.run(main()) == ["a", "b"]
    assert client.last_thinking == "hmm" and client.last_usage == {"input_tokens": 3, "output_tokens": 2}


def test_generate_is_stateless_and_may_run_concurrently():
    client = EchoAsync("openai:gpt-4.1", system="S")

    async def main():
        return await asyncio.gather(*(client.generate(f"q{i}") for i in range(5)))

    assert asyncio.run(main()) == [f"echo: q{i}" for i in range(5)]
    assert client.messages == [{"role": "system", "content": "S"}]


def test_async_only_provider_keeps_history_and_thinking():
    client = EchoAsync("openai:gpt-4.1")
    assert asyncio.run(client.chat("one")) == "echo: one"
    assert client.messages[-1] == {"role": "assistant", "content": "echo: one", "thinking": "echoing"}
    assert client.last_thinking == "echoing"


def test_event_loop_stays_free_during_in_process_inference():
    client = aio.client(ScriptedSync(["x"] * 10, delay=0.02))
    ticks = []

    async def ticker(stop):
        while not stop.is_set():
            ticks.append(1)
            await asyncio.sleep(0.005)

    async def main():
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        answer = await client.chat("go")
        stop.set()
        await task
        return answer

    assert asyncio.run(main()) == "x" * 10
    assert len(ticks) > 3  # the ticker ran while the sync generator was sleeping in its thread


def test_cancelling_a_turn_closes_the_sync_generator_and_keeps_history():
    sync = ScriptedSync(["tok"] * 1000, delay=0.01)
    client = aio.client(sync)

    async def main():
        got = []

        async def consume():
            async for chunk in await client.chat("long story", stream=True):
                got.append(chunk)

        task = asyncio.create_task(consume())
        while len(got) < 3:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return len(got)

    n = asyncio.run(main())
    assert sync.closed.wait(5), "the sync generator was not closed after cancellation"
    assert sync.messages == [{"role": "user", "content": "long story"}]
    assert client.last_partial.text.startswith("tok" * n)
    assert client._chat_owner is None               # the history is free again
    sync.script.append(["again"])  # the client is usable afterwards
    assert asyncio.run(client.chat("next")) == "again"


def test_provider_error_in_thread_reaches_the_caller_with_partial():
    sync = ScriptedSync(["par", "tial", ServerError("boom", status=500)])
    client = aio.client(sync)
    with pytest.raises(ServerError) as info:
        asyncio.run(client.chat("q"))
    assert info.value.partial.text == "partial"
    assert client.messages == [{"role": "user", "content": "q"}]


def test_forgotten_await_is_a_clear_type_error():
    client = EchoAsync("openai:gpt-4.1")

    async def main():
        with pytest.raises(TypeError, match="forgot an 'await'"):
            await client.chat(client.generate("inner"))
        with pytest.raises(TypeError, match="forgot an 'await'"):
            aio.client(client.generate("x"))

    asyncio.run(main())
    assert client.messages == []


def test_two_chats_at_once_on_one_client_are_refused():
    client = aio.client(ScriptedSync(["a"], ["b"], delay=0.05))

    async def main():
        first = asyncio.create_task(client.chat("1"))
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="already running"):
            await client.chat("2")
        return await first

    assert asyncio.run(main()) == "a"
    assert [m["content"] for m in client.messages] == ["1", "a"]


def test_wrapping_with_options_is_refused_and_async_client_passes_through():
    sync = ScriptedSync()
    with pytest.raises(TypeError, match="wrapping an existing client"):
        aio.AsyncModelClient(sync, system="x")
    wrapped = aio.client(sync)
    assert aio.client(wrapped) is wrapped


def test_forgotten_await_on_the_sync_surface_is_named_too():
    client = EchoAsync("openai:gpt-4.1")
    sync = ScriptedSync(["unused"])
    with pytest.raises(TypeError, match="forgot an 'await'"):
        sync.chat(client.generate("x"))          # a coroutine as a message

    async def fetch():
        return "page"

    @wb.tool
    def forgot() -> str:
        """Returns a coroutine by mistake."""
        return fetch()

    from workbench.models.chunks import StreamChunk as SC
    sync = ScriptedSync([SC(Phase.TOOL_CALL, {"id": "c1", "name": "forgot", "arguments": {}})], tools=[forgot])
    with pytest.raises(TypeError, match="forgot an 'await'"):
        sync.chat("go")                          # a coroutine as a tool result
    assert sync.messages == [{"role": "user", "content": "go"}]
