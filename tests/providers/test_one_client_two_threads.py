"""One client, two writers of its history: a second chat() while one is still running (another
thread, an unread stream, another task) gets a typed error naming the fix, and the history
stays consistent; forks are independent clients (an auto_checkpoint wrapper on the original
never writes a fork's turns into the original's history)."""

from __future__ import annotations

import asyncio
import threading

import pytest

import workbench as wb
from workbench import aio
from workbench.errors import ClientBusyError
from workbench.testing import FakeOpenAIServer, Reply


@pytest.fixture
def server():
    with FakeOpenAIServer(default=Reply(text="Fine.")) as s:
        yield s


def test_a_second_thread_chatting_on_one_client_gets_a_typed_error_and_history_holds(server):
    c = wb.client("openai-compat:m@" + server.base_url)
    server.add(Reply(text="slow " * 60, chunk_delay=0.02))
    started, outcome = threading.Event(), {}

    def first():
        for i, _chunk in enumerate(c.chat("Talk slowly.", stream=True)):
            if i == 2:
                started.set()
        outcome["first"] = "done"

    worker = threading.Thread(target=first)
    worker.start()
    assert started.wait(10)
    with pytest.raises(ClientBusyError) as info:
        c.chat("Interrupting?")
    worker.join(30)
    assert outcome == {"first": "done"}
    assert "another thread" in str(info.value) and "fork()" in str(info.value)
    assert [m["role"] for m in c.messages] == ["user", "assistant"]          # no stray user turn
    assert c.chat("Next.") == "Fine."                                        # free again afterwards
    assert c.generate("Stateless, any time.") == "Fine."


def test_an_unread_stream_holds_the_history_until_it_is_closed(server):
    c = wb.client("openai-compat:m@" + server.base_url)
    stream = c.chat("One.", stream=True)
    next(stream)
    with pytest.raises(ClientBusyError, match="stream not yet read"):
        c.chat("Two.")
    stream.close()
    assert c.chat("Two.") == "Fine."


def test_the_async_client_uses_the_same_rule(server):
    async def main():
        c = aio.client("openai-compat:m@" + server.base_url)
        server.add(Reply(text="slow " * 60, chunk_delay=0.02))
        started = asyncio.Event()

        async def first():
            i = 0
            async for _chunk in await c.chat("Talk slowly.", stream=True):
                i += 1
                if i == 2:
                    started.set()
                    await asyncio.sleep(0.1)      # the other task asks while this one streams

        task = asyncio.create_task(first())
        await asyncio.wait_for(started.wait(), 10)
        with pytest.raises(ClientBusyError, match="another task"):
            await c.chat("Interrupting?")
        await task
        await c.aclose()
        return [m["role"] for m in c.messages]

    assert asyncio.run(main()) == ["user", "assistant"]


def test_a_fork_of_an_auto_checkpointed_client_never_writes_into_the_original(server, tmp_path):
    from workbench.agents.runner import fork_client

    c = wb.client("openai-compat:m@" + server.base_url, system="Be brief.")
    wb.auto_checkpoint(c, tmp_path / "c.json")
    c.chat("Original turn.")
    twin = fork_client(c, system="Other.")
    assert twin.chat("Fork turn.") == "Fine."
    assert [m.get("content") for m in c.messages if m["role"] == "user"] == ["Original turn."]
    assert [m.get("content") for m in twin.messages if m["role"] == "user"] == ["Fork turn."]
    assert twin.system_message == "Other." and c.system_message == "Be brief."
    assert twin.base_url == c.base_url and twin.sdk() is c.sdk()          # one connection pool
