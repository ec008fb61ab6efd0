"""Async tool dispatch through the shared ToolSet: async and sync tools, concurrency, errors.

The model turns come from the fake OpenAI server through the real async SDK (conftest).
"""

from __future__ import annotations

import asyncio
import threading

import pytest

import workbench as wb
from workbench.testing import Reply, ToolCall


@wb.tool
async def slow_upper(text: str) -> str:
    """Upper-case text, slowly."""
    await asyncio.sleep(0.01)
    return text.upper()


@wb.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    add.threads.append(threading.current_thread().name)
    return a + b


add.threads = []


def test_async_and_sync_tools_in_one_turn(server, aclient):
    server.add(Reply(tool_calls=[ToolCall("slow_upper", {"text": "hi"}), ToolCall("add", {"a": "2", "b": 3})]),
               Reply(text="done"))
    client = aclient(server, tools=[slow_upper, add])
    assert asyncio.run(client.chat("go")) == "done"
    roles = [m["role"] for m in client.messages]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    assert [m["content"] for m in client.messages if m["role"] == "tool"] == ["HI", "5"]  # "2" coerced by ToolSet
    assert add.threads and add.threads[-1] != threading.main_thread().name  # sync tool ran in a thread
    assert [t["function"]["name"] for t in server.requests[0].body["tools"]] == ["slow_upper", "add"]
    assert len(server.requests) == 2


def test_tool_failure_and_unknown_tool_go_back_to_the_model(server, aclient):
    @wb.tool
    async def broken(x: str) -> str:
        """Always fails."""
        raise RuntimeError("disk on fire")

    server.add(Reply(tool_calls=[ToolCall("broken", {"x": "1"}), ToolCall("nope", {})]), Reply(text="recovered"))
    client = aclient(server, tools=[broken])

    async def main():
        return [c async for c in await client.chat("go", stream=True, include=["tool_result"])]

    results = [c.content for c in asyncio.run(main())]
    assert results[0]["is_error"] and "disk on fire" in results[0]["content"]
    assert results[1]["is_error"] and "No tool named 'nope'" in results[1]["content"]
    assert client.messages[-1]["content"] == "recovered"


def test_concurrent_tool_calls_overlap(server, aclient):
    both_started = asyncio.Event

    @wb.tool
    async def meet(who: str) -> str:
        """Wait until both callers have arrived."""
        arrived.append(who)
        if len(arrived) == 2:
            gate.set()
        await asyncio.wait_for(gate.wait(), 2)  # serial dispatch would time out here
        return who

    async def main():
        global arrived, gate
        arrived, gate = [], both_started()
        server.add(Reply(tool_calls=[ToolCall("meet", {"who": "a"}), ToolCall("meet", {"who": "b"})]),
                   Reply(text="ok"))
        client = aclient(server, tools=[meet])
        client.concurrent_tool_calls = True
        return await client.chat("go"), client

    answer, client = asyncio.run(main())
    assert answer == "ok"
    assert [m["content"] for m in client.messages if m["role"] == "tool"] == ["a", "b"]  # call order kept


def test_forgotten_await_in_tools_raises_all_errors_and_cancels_siblings(server, aclient):
    cancelled, arrived = [], []

    async def fetch(x):
        return x

    @wb.tool
    async def forgot(x: str) -> str:
        """Returns a coroutine by mistake (after both callers arrive, so both fail together)."""
        arrived.append(x)
        if len(arrived) == 2:
            gate.set()
        await gate.wait()
        return fetch(x)

    @wb.tool
    async def long_running(x: str) -> str:
        """Never finishes on its own."""
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(x)
            raise
        return x

    server.add(Reply(tool_calls=[ToolCall("forgot", {"x": "1"}), ToolCall("long_running", {"x": "3"}),
                                 ToolCall("forgot", {"x": "2"})]))
    client = aclient(server, tools=[forgot, long_running])
    client.concurrent_tool_calls = True

    async def main():
        global gate
        gate = asyncio.Event()
        await client.chat("go")

    with pytest.raises(ExceptionGroup) as info:
        asyncio.run(main())
    errors = info.value.exceptions
    assert len(errors) == 2 and all(isinstance(e, TypeError) and "forgot an 'await'" in str(e) for e in errors)
    assert cancelled == ["3"]
    # history: the user's message only; the tool request never entered alone
    assert client.messages == [{"role": "user", "content": "go"}]
    assert len(server.requests) == 1


def test_serial_forgotten_await_is_a_type_error(server, aclient):
    async def fetch():
        return 1

    @wb.tool
    def forgot() -> str:
        """Returns a coroutine by mistake."""
        return fetch()

    server.add(Reply(tool_calls=[ToolCall("forgot", {})]))
    client = aclient(server, tools=[forgot])
    with pytest.raises(TypeError, match="forgot an 'await'"):
        asyncio.run(client.chat("go"))


def test_slow_tool_with_a_timeout_leaves_history_consistent(server, aclient):
    @wb.tool
    async def slow(x: str) -> str:
        """Takes far too long."""
        await asyncio.sleep(30)
        return x

    server.add(Reply(tool_calls=[ToolCall("slow", {"x": "1"})]), Reply(text="never"))
    client = aclient(server, tools=[slow])

    async def main():
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await client.chat("go")

    asyncio.run(main())
    assert client.messages == [{"role": "user", "content": "go"}]
    assert client._chat_owner is None               # the history is free again
    assert len(server.requests) == 1  # the tools never finished, so the model was not asked again
