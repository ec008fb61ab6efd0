"""A user's own Runner composes: a subclass implementing only the public contract (``run``
and ``messages``) is a step of Chain, a worker of Parallel and a handler of Router, sync and
aio (``aio.AsyncRunner`` with ``async def run``), streaming and not; the sync Parallel lets
the other workers finish before the error surfaces, and aio's Parallel cancels them."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import workbench as wb
from workbench import aio
from workbench.agents.runner import Runner
from workbench.agents.workflows import Chain, Parallel, Router
from workbench.models.chunks import Phase, StreamChunk
from workbench.testing import FakeOpenAIServer, Reply


class Shout(Runner):
    """Upper-cases its task; streams one chunk per word."""

    def __init__(self, name: str = "shout", fail: bool = False, delay: float = 0.0):
        self.name, self.fail, self.delay, self.history = name, fail, delay, []
        self.finished = threading.Event()

    @property
    def messages(self):
        return self.history

    def run(self, task, generate_kwargs=None, stream=False, images=None):
        time.sleep(self.delay)
        if self.fail:
            raise ValueError(f"{self.name} refuses")
        answer = task.upper()
        self.history += [{"role": "user", "content": task}, {"role": "assistant", "content": answer}]
        self.finished.set()
        if not stream:
            return answer
        return iter([StreamChunk(Phase.TEXT, w + " ") for w in answer.split()])


class AsyncShout(aio.AsyncRunner):
    def __init__(self, name: str = "ashout", fail: bool = False, delay: float = 0.0):
        self.name, self.fail, self.delay, self.history, self.cancelled = name, fail, delay, [], False

    @property
    def messages(self):
        return self.history

    async def run(self, task, generate_kwargs=None, stream=False, images=None):
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.fail:
            raise ValueError(f"{self.name} refuses")
        answer = task.upper()
        self.history.append({"role": "assistant", "content": answer})
        if not stream:
            return answer

        async def chunks():
            for w in answer.split():
                yield StreamChunk(Phase.TEXT, w + " ")
        return chunks()


@pytest.fixture(scope="module")
def model():
    with FakeOpenAIServer(default=Reply(text="routed: shout")) as server:
        yield "openai-compat:m@" + server.base_url


def test_a_user_runner_is_a_chain_step_streaming_and_not():
    chain = Chain([Shout("a"), Shout("b")])
    assert chain.run("make it loud") == "MAKE IT LOUD"
    chunks = list(Chain([Shout("a2"), Shout("b2")]).run("two words", stream=True))
    assert "".join(c.content for c in chunks if c.phase == "text").split() == ["TWO", "WORDS", "TWO", "WORDS"]
    assert {c.agent for c in chunks if c.phase == "text"} == {"a2", "b2"}      # tagged with each name
    assert set(chain.messages) == {"a", "b"}                                  # plain lists keyed by name


def test_a_user_runner_without_run_or_logic_is_a_clear_error():
    class Empty(Runner):
        messages = {}

    with pytest.raises(TypeError, match="implements neither run"):
        Empty().run("x")


def test_sync_parallel_lets_every_worker_finish_before_the_error_surfaces():
    slow = Shout("slow", delay=0.3)
    par = Parallel([Shout("bad", fail=True), slow])
    with pytest.raises(Exception) as info:
        par.run("task")
    assert slow.finished.is_set()                                  # it ran to the end first
    assert "bad" in str(info.value)


def test_a_user_runner_is_a_router_handler(model):
    router = Router(wb.agent(model, name="router"), {"shout": Shout("shouter")})
    assert router.run("hello there") == "HELLO THERE"


def test_aio_chain_and_parallel_take_async_and_sync_user_runners():
    async def main():
        chain = aio.Chain([AsyncShout("x"), Shout("y")])
        text = await chain.run("quiet words")
        chunks = [c async for c in await aio.Chain([AsyncShout("x2"), AsyncShout("y2")]).run("a b", stream=True)]
        slow = AsyncShout("slow", delay=5.0)
        with pytest.raises(BaseException):
            await aio.Parallel([AsyncShout("bad", fail=True), slow]).run("t")
        return text, chunks, slow.cancelled

    text, chunks, cancelled = asyncio.run(main())
    assert text == "QUIET WORDS"
    assert "".join(c.content for c in chunks if c.phase == "text").split() == ["A", "B", "A", "B"]
    assert {c.agent for c in chunks if c.phase == "text"} == {"x2", "y2"}
    assert cancelled                                              # aio.Parallel cancels the rest
