"""The sync driver: performs the effects that runner logic yields (see ``effects.py``).

``drive(...)`` is a generator of StreamChunks whose return value is the run's answer, so
``answer = yield from drive(...)`` nests runs and streams inner chunks live. Parallel
work runs in a thread pool; its chunks cross over as they come (``workbench.relay``).
"""

from __future__ import annotations

import inspect
from typing import Any, Generator

from workbench.agents.effects import (Call, Chat, Checkpoint, Outcome, Run, RunAll, RunOwn, chat_outcome, chat_started,
                                      fire_checkpoint_hooks, runner_label)
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.turn import AnswerText



def drive(runner, task: str, images: list | None = None, generate_kwargs: dict | None = None,
          stream: bool = False, parents: tuple = ()) -> Generator[StreamChunk, None, Any]:
    stack = parents + (runner,)
    logic = runner._logic(task, images=images, generate_kwargs=generate_kwargs)
    value: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                effect = logic.throw(error) if error is not None else logic.send(value)
            except StopIteration as stop:
                runner.last_result = stop.value
                fire_checkpoint_hooks(runner, "finished")
                return stop.value
            value, error = None, None
            try:
                value = yield from perform(effect, stack, stream)
            except Exception as exc:
                error = exc
    except BaseException:
        fire_checkpoint_hooks(runner, "failed")
        raise
    finally:
        logic.close()


def perform(effect, stack: tuple, stream: bool) -> Generator[StreamChunk, None, Any]:
    if isinstance(effect, Chat):
        return (yield from _chat(effect, stream))
    if isinstance(effect, Run):
        return (yield from drive(effect.runner, effect.task, effect.images, effect.generate_kwargs,
                                 stream, stack))
    if isinstance(effect, RunAll):
        return (yield from _run_all(effect, stack, stream))
    if isinstance(effect, RunOwn):
        return (yield from _run_own(effect, stream))
    if isinstance(effect, Call):
        return effect.fn(*effect.args, **effect.kwargs)
    if isinstance(effect, Checkpoint):
        for runner in stack:
            fire_checkpoint_hooks(runner, "iteration")
        return None
    raise TypeError(f"Runner logic yielded {effect!r}, which is not an effect (see workbench.agents.effects).")


def _chat(effect: Chat, stream: bool) -> Generator[StreamChunk, None, Any]:
    client = effect.client
    if inspect.iscoroutinefunction(client.chat):
        raise TypeError(f"{client!r} is an async client: this sync runner would get a coroutine, not an answer. "
                        "Use the runner's twin in workbench.aio and 'await runner.run(...)'.")
    start = chat_started(client, effect)
    if not stream:
        text = client.chat(effect.message, generate_kwargs=effect.generate_kwargs, images=effect.images)
        return chat_outcome(client.messages, start, text)
    answer = AnswerText(own_only=True)
    for chunk in client.chat(effect.message, generate_kwargs=effect.generate_kwargs,
                             images=effect.images, stream=True):
        yield answer.feed(chunk).tagged(effect.agent, effect.iteration)
    return chat_outcome(client.messages, start, answer.text)


def _run_own(effect: RunOwn, stream: bool) -> Generator[StreamChunk, None, Any]:
    runner = effect.runner
    if inspect.iscoroutinefunction(runner.run):
        raise TypeError(f"{runner_label(runner)} has an async run(): a sync workflow would get a coroutine. "
                        "Use the workflow's twin in workbench.aio and 'await workflow.run(...)'.")
    kwargs = dict(generate_kwargs=effect.generate_kwargs, images=effect.images)
    if not stream:
        return runner.run(effect.task, **kwargs)
    out = runner.run(effect.task, stream=True, **kwargs)
    label = runner_label(runner)
    if isinstance(out, str):              # a run() that does not stream: one text chunk
        yield StreamChunk(Phase.TEXT, out, label, 0)
        return out
    answer = AnswerText()
    for chunk in out:
        yield answer.feed(chunk).tagged(label, 0)
    return answer.final


def _run_all(effect: RunAll, stack: tuple, stream: bool) -> Generator[StreamChunk, None, list[Outcome]]:
    if not effect.items:
        return []
    from workbench.relay import relay_threads

    makers = [lambda runner=runner, task=task: drive(runner, task, effect.images, effect.generate_kwargs, stream,
                                                     stack) for runner, task in effect.items]
    futures = yield from relay_threads(makers, effect.max_workers, "workbench-parallel")
    outcomes = []
    for (runner, _), future in zip(effect.items, futures):
        exc = future.exception()
        outcomes.append(Outcome(runner, error=exc) if exc is not None else Outcome(runner, future.result()))
    return outcomes
