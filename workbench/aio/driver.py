"""The async driver: performs the effects that runner logic yields (``agents/effects.py``).

The same table as the sync driver (``agents/driver.py``), with ``await``:

- ``Chat``: ``await client.chat(...)`` (a sync client, e.g. a sync Agent placed in an async
  workflow, runs in a thread); chunks are relayed tagged, as in the sync driver.
- ``Run``: the sub-runner's logic, driven here.
- ``RunAll``: every runner in an ``asyncio.TaskGroup``. This is the one place where the
  semantics differ from the sync thread pool: the first failure cancels the siblings still
  running, and all errors are raised together as ``RunAllFailed`` (an ExceptionGroup
  whose ``outcomes`` keep what finished).
- ``Call``: ``await`` a coroutine function, ``asyncio.to_thread`` anything else.
- ``Checkpoint``: the same hooks.

``adrive`` is an async generator of StreamChunks; an async generator cannot return a
value, so the run's answer is left in ``result.value`` (a ``Result`` the caller passes in).
"""

from __future__ import annotations

import asyncio
import inspect
from contextlib import aclosing, nullcontext
from dataclasses import dataclass
from typing import Any, AsyncIterator

from workbench.agents.effects import (Call, Chat, Checkpoint, Outcome, Run, RunAll, RunOwn, chat_outcome, chat_started,
                                      fire_checkpoint_hooks, runner_label)
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.turn import AnswerText



@dataclass
class Result:
    value: Any = None


class RunAllFailed(ExceptionGroup):
    """Some runners of a RunAll failed (the rest were cancelled); ``outcomes``: those that finished."""

    def __new__(cls, message: str, exceptions, outcomes=()):
        self = super().__new__(cls, message, exceptions)
        self.outcomes = list(outcomes)
        return self

    def derive(self, exceptions):
        return RunAllFailed(self.message, exceptions, self.outcomes)


async def adrive(runner, task: str, images, generate_kwargs, stream: bool, result: Result,
                 parents: tuple = ()) -> AsyncIterator[StreamChunk]:
    stack = parents + (runner,)
    logic = runner._logic(task, images=images, generate_kwargs=generate_kwargs)
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = logic.throw(error) if error is not None else logic.send(value)
            except StopIteration as stop:
                runner.last_result = result.value = stop.value
                fire_checkpoint_hooks(runner, "finished")
                return
            value, error, answer = None, None, Result()
            try:
                async with aclosing(perform(effect, stack, stream, answer)) as chunks:
                    async for chunk in chunks:
                        yield chunk
                value = answer.value
            except Exception as exc:
                error = exc
    except BaseException:  # CancelledError included: auto-checkpoints save the state
        fire_checkpoint_hooks(runner, "failed")
        raise
    finally:
        logic.close()


async def perform(effect, stack: tuple, stream: bool, answer: Result) -> AsyncIterator[StreamChunk]:
    if isinstance(effect, Chat):
        async with aclosing(_chat(effect, stream, answer)) as chunks:
            async for chunk in chunks:
                yield chunk
    elif isinstance(effect, Run):
        async with aclosing(adrive(effect.runner, effect.task, effect.images, effect.generate_kwargs,
                                   stream, answer, stack)) as chunks:
            async for chunk in chunks:
                yield chunk
    elif isinstance(effect, RunAll):
        async with aclosing(_run_all(effect, stack, stream, answer)) as chunks:
            async for chunk in chunks:
                yield chunk
    elif isinstance(effect, RunOwn):
        async with aclosing(_run_own(effect, stream, answer)) as chunks:
            async for chunk in chunks:
                yield chunk
    elif isinstance(effect, Call):
        if inspect.iscoroutinefunction(effect.fn):
            answer.value = await effect.fn(*effect.args, **effect.kwargs)
        else:  # e.g. a Scorer whose judge is a sync client: keep it off the event loop
            answer.value = await asyncio.to_thread(effect.fn, *effect.args, **effect.kwargs)
    elif isinstance(effect, Checkpoint):
        for runner in stack:
            fire_checkpoint_hooks(runner, "iteration")
    else:
        raise TypeError(f"Runner logic yielded {effect!r}, which is not an effect (see workbench.agents.effects).")


async def _chat(effect: Chat, stream: bool, answer: Result) -> AsyncIterator[StreamChunk]:
    from workbench.aio.model_client import AsyncModelClient

    client = effect.client
    if not inspect.iscoroutinefunction(client.chat):  # a sync client: the same turn, in a thread
        client = AsyncModelClient(client)
    start = chat_started(client, effect)
    kwargs = dict(generate_kwargs=effect.generate_kwargs, images=effect.images)
    if not stream:
        text = await client.chat(effect.message, **kwargs)
    else:
        tracker = AnswerText(own_only=True)
        async with aclosing(await client.chat(effect.message, stream=True, **kwargs)) as chunks:
            async for chunk in chunks:
                yield tracker.feed(chunk).tagged(effect.agent, effect.iteration)
        text = tracker.text
    answer.value = chat_outcome(client.messages, start, text)


async def _run_own(effect: RunOwn, stream: bool, answer: Result) -> AsyncIterator[StreamChunk]:
    """A user runner's own run(): awaited when it is ``async def``, else in a thread."""
    from workbench.aio.bridge import iterate_in_thread

    runner, label = effect.runner, runner_label(effect.runner)
    kwargs = dict(generate_kwargs=effect.generate_kwargs, images=effect.images)
    asynchronous = inspect.iscoroutinefunction(runner.run)
    if not stream:
        answer.value = (await runner.run(effect.task, **kwargs) if asynchronous
                        else await asyncio.to_thread(runner.run, effect.task, **kwargs))
        return
    if asynchronous:
        out = await runner.run(effect.task, stream=True, **kwargs)
    else:
        out = await asyncio.to_thread(runner.run, effect.task, stream=True, **kwargs)
    if isinstance(out, str):
        yield StreamChunk(Phase.TEXT, out, label, 0)
        answer.value = out
        return
    tracker = AnswerText()
    chunks = out if hasattr(out, "__aiter__") else iterate_in_thread(lambda: iter(out))
    async with aclosing(chunks) if hasattr(chunks, "aclose") else nullcontext(chunks) as source:
        async for chunk in source:
            yield tracker.feed(chunk).tagged(label, 0)
    answer.value = tracker.final


async def _run_all(effect: RunAll, stack: tuple, stream: bool, answer: Result) -> AsyncIterator[StreamChunk]:
    from workbench.relay import relay_tasks

    def maker(runner, task: str):
        async def make(put) -> Any:
            result = Result()
            async with aclosing(adrive(runner, task, effect.images, effect.generate_kwargs, stream,
                                       result, stack)) as chunks:
                async for chunk in chunks:
                    put(chunk)
            return result.value
        return make

    tasks: list[asyncio.Task] = []
    try:
        async with aclosing(relay_tasks([maker(runner, task) for runner, task in effect.items], tasks)) as items:
            async for item in items:
                yield item
    except BaseExceptionGroup as group:
        finished = [Outcome(runner, t.result()) for (runner, _), t in zip(effect.items, tasks)
                    if t.done() and not t.cancelled() and t.exception() is None]
        failed = [f"{runner.name}: {type(t.exception()).__name__}: {t.exception()}"
                  for (runner, _), t in zip(effect.items, tasks)
                  if t.done() and not t.cancelled() and t.exception() is not None]
        raise RunAllFailed(f"{len(failed)} of {len(tasks)} runners failed ({'; '.join(failed)}); "
                           f"{len(finished)} finished, the others were cancelled",
                           list(group.exceptions), finished) from None
    answer.value = [Outcome(runner, t.result()) for (runner, _), t in zip(effect.items, tasks)]
