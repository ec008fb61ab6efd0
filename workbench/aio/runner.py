"""AsyncRunner: the sync Runner with an async ``run``; the logic stays the sync runner's.

An aio class is its sync twin plus this base: ``aio.Agent(AsyncRunner, agents.Agent)``.
Its ``_logic``, ``messages``, ``checkpoint`` and ``restore`` are inherited unchanged, so a
checkpoint taken by one surface restores into the other (the ``type`` names match).
"""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import Any, AsyncIterator

from workbench.agents.runner import Runner, RunnerClient
from workbench.aio.driver import Result, adrive
from workbench.aio.model_client import AsyncBaseModelClient, forgot_await
from workbench.errors import ConfigurationError
from workbench.models.chunks import Phase, StreamChunk, afilter_chunks


class AsyncRunner(Runner):
    """Base of every aio agent and workflow."""

    async def run(self, task: str, generate_kwargs: dict | None = None, stream: bool = False,
                  images: list | None = None, include=None):
        """Run the task; the answer, or (``stream=True``) an async iterator of tagged StreamChunks."""
        error = forgot_await(task, "The task")
        if error is not None:
            raise error
        if not isinstance(task, str):
            raise TypeError(f"A task must be a str, got {type(task).__name__}.")
        result = Result()
        chunks = adrive(self, task, images, generate_kwargs, stream, result)
        if stream:
            return afilter_chunks(chunks, include)  # the answer is then runner.last_result
        async with aclosing(chunks):
            async for _ in chunks:
                pass
        return result.value

    run._workbench_base_run = True      # a subclass that keeps this run must write _logic

    def as_model_client(self) -> "AsyncRunnerClient":
        """An async client view of this runner: ``await view.chat(task)`` runs it."""
        return AsyncRunnerClient(self)

    @staticmethod
    def _check_client(client: Any) -> None:
        if not isinstance(client, AsyncBaseModelClient):
            raise ConfigurationError(
                f"workbench.aio agents need an async client, got {type(client).__name__}: build it with "
                "aio.client('provider:model'), or wrap a sync one with aio.client(sync_client).")


class AsyncRunnerClient(AsyncBaseModelClient):
    """``runner.as_model_client()`` for aio runners; the state is a sync RunnerClient's."""

    def __init__(self, runner: AsyncRunner):
        super().__init__(state=RunnerClient(runner))

    async def _aturn(self, messages, tools, options, stream) -> AsyncIterator[StreamChunk]:
        from workbench.models.inputs import message_images, message_text
        from workbench.models.turn import done_chunk

        runner = self._state.runner
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {"content": ""})
        started = time.perf_counter()
        answer = await runner.run(message_text(last), generate_kwargs=dict(options) or None,
                                  images=message_images(last) or None)
        yield StreamChunk(Phase.TEXT, answer)
        yield done_chunk(finish_reason="stop", elapsed_s=time.perf_counter() - started,
                         model=f"runner:{runner.name}")
