"""AsyncBaseModelClient: the async driver of one chat turn; AsyncModelClient and the verbs.

Nothing here decides anything about a conversation. The state is a ``ChatState`` (for a
wrapped client: the sync client itself, so messages, system message and tools are the
very same objects), the tool loop is ``ToolLoop``, the assistant message is built by
``TurnResult``, the answer is picked by ``BaseModelClient._consume``. ``_adrive`` below is
``BaseModelClient._drive`` with ``await`` at the two I/O points: the model call and the
tools.

Where a model call runs:

- cloud clients implement ``_aturn`` with their SDK's async object (same wire adapter);
- in-process clients (transformers, llama.cpp) only have the sync ``_turn``: it runs in a
  thread (``bridge.iterate_in_thread``), so the event loop stays free, and cancelling the
  consumer closes the sync generator, which stops generation.

Failure contract: the same as the sync client, cancellation included (``CancelledError``
is recorded like a KeyboardInterrupt): ``messages`` keeps the user's message and every
completed step, ``last_partial`` holds what the interrupted model call produced.
"""

from __future__ import annotations

import inspect
from contextlib import aclosing
from typing import Any, AsyncIterator

from workbench.models.chunks import Phase, StreamChunk, afilter_chunks
from workbench.models.client import BaseModelClient, create_client
from workbench.models.loop import CallModel, Finish, RunTools, ToolLoop
from workbench.models.state import ChatState
from workbench.models.turn import TurnResult


def forgot_await(value: Any, what: str) -> TypeError | None:
    """A TypeError naming the missing ``await`` when ``value`` is an awaitable, else None."""
    if not inspect.isawaitable(value):
        return None
    if inspect.iscoroutine(value):
        value.close()  # it will never run; closing avoids a second "never awaited" warning
    return TypeError(f"{what} is a coroutine/awaitable ({type(value).__name__}): you forgot an 'await'. "
                     f"Write 'await ...' where it was produced.")


class AsyncBaseModelClient:
    """The async twin of BaseModelClient: ``await chat()``, ``await generate()``.

    A provider written for async only subclasses this and implements ``_aturn``; its
    state is a fresh ``ChatState``. Reads of state (``messages``, ``system_message``,
    ``reset()``, ``restore()``, ``last_usage``...) and writes of public attributes go to
    that state object.
    """

    _OWN = ("_state",)

    def __init__(self, model=None, *, state: ChatState | None = None, system: str | None = None,
                 **state_kwargs: Any):
        if state is None:
            state = ChatState()
            state._init_state(model, system=system, **state_kwargs)
        object.__setattr__(self, "_state", state)

    # -- state is shared, not copied --------------------------------------------------------
    def __getattr__(self, name: str):
        if name in AsyncBaseModelClient._OWN:
            raise AttributeError(name)
        return getattr(self._state, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            setattr(self._state, name, value)

    def __repr__(self) -> str:  # never shows credentials (ChatState's repr does not either)
        return f"<{type(self).__name__} {self._state.model_string} messages={len(self._state.messages)}>"

    async def aclose(self) -> None:
        """Close the provider's async connection (if it holds one); the state stays usable."""
        close = getattr(self._state, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # -- the provider hook ------------------------------------------------------------------
    def _aturn(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
               options: dict[str, Any], stream: bool) -> AsyncIterator[StreamChunk]:
        """One model call: yield thinking/text/tool_call chunks, then one done chunk."""
        raise NotImplementedError

    # -- public API -------------------------------------------------------------------------
    async def chat(self, user_message: str, generate_kwargs: dict | None = None, use_tools: bool = True,
                   stream: bool = False, images: list | None = None, include=None):
        """Send a message, keep the exchange in ``messages``; the answer, or an async chunk stream."""
        message = self._start(user_message, images, include)
        chunks = self._achat_chunks(message, None, generate_kwargs, use_tools, stream)
        if stream:
            return afilter_chunks(chunks, include)
        return await self._aconsume(chunks)

    async def generate(self, prompt: str, generate_kwargs: dict | None = None, use_tools: bool = False,
                       stream: bool = False, images: list | None = None, include=None):
        """A stateless call (safe to run concurrently on one client): ``messages`` is never touched."""
        message = self._start(prompt, images, include)
        chunks = self._achat_chunks(message, self._state._fresh_messages(), generate_kwargs, use_tools, stream)
        if stream:
            return afilter_chunks(chunks, include)
        return await self._aconsume(chunks)

    # -- the async driver -------------------------------------------------------------------
    def _start(self, text, images, include) -> dict[str, Any]:
        error = forgot_await(text, "The message")
        if error is not None:
            raise error
        return self._state._start_chat(text, images, include)

    async def _achat_chunks(self, message, history, generate_kwargs, use_tools, stream) -> AsyncIterator[StreamChunk]:
        state = self._state
        options = state._merged_kwargs(generate_kwargs)
        owner = object()
        if history is None:  # chat(): two turns interleaving in one history would corrupt it
            state._claim_chat(owner, asynchronous=True)
            history = state.messages
        try:
            history.append(message)
            loop = state._new_loop(history, use_tools, options)
            async with aclosing(self._adrive(loop, options, stream)) as chunks:
                async for chunk in chunks:
                    yield chunk
        finally:
            state._release_chat(owner)

    async def _adrive(self, loop: ToolLoop, options: dict[str, Any], stream: bool) -> AsyncIterator[StreamChunk]:
        from workbench.aio.tools import prepare_toolset, run_tool_calls

        state = self._state
        tools, specs = await prepare_toolset(state) if loop.run_tools or state._has_tools() else (None, None)
        while True:
            step = loop.next_step()
            if isinstance(step, Finish):
                state._record(loop)
                return
            if isinstance(step, CallModel):
                turn = TurnResult()
                try:
                    async with aclosing(self._aturn(step.messages, specs, options, stream)) as chunks:
                        async for chunk in chunks:
                            turn.feed(chunk)
                            yield chunk
                except BaseException as exc:  # CancelledError too: history stays consistent
                    state._record_failure(loop, turn, exc)
                    raise
                loop.model_done(turn)
            elif isinstance(step, RunTools):
                results = []
                concurrent = bool(getattr(state, "concurrent_tool_calls", False))
                async with aclosing(run_tool_calls(tools, step.calls, concurrent)) as items:
                    async for item in items:
                        if isinstance(item, StreamChunk):     # a generator tool's progress, live
                            yield item
                            continue
                        results.append(item)
                        yield StreamChunk(Phase.TOOL_RESULT, item)
                loop.tools_done(results)

    @staticmethod
    async def _aconsume(chunks: AsyncIterator[StreamChunk]) -> str:
        async with aclosing(chunks):
            collected = [chunk async for chunk in chunks]
        return BaseModelClient._consume(collected)  # the one rule for "which text is the answer"


class AsyncModelClient(AsyncBaseModelClient):
    """Async client for ``"provider:model_id"``, a catalog member, or an existing sync client.

    Wrapping a sync client shares everything with it: weights, ``messages`` (the same list
    object), system message, tools. Built from a model string, the sync client is created
    first; in-process weights then come from the kernel-wide cache, never a second load.
    """

    _OWN = AsyncBaseModelClient._OWN + ("sync_client",)

    def __init__(self, model, **kwargs: Any):
        if isinstance(model, AsyncBaseModelClient):
            raise TypeError("That is already an async client; use it as it is.")
        if isinstance(model, BaseModelClient):
            if kwargs:
                raise TypeError(
                    f"Options {sorted(kwargs)} cannot be applied when wrapping an existing client: pass them "
                    "when you build the sync client, or set them on it (e.g. client.system_message = ...).")
            sync_client = model
        else:
            error = forgot_await(model, "The model")
            if error is not None:
                raise error
            sync_client = create_client(model, **kwargs)
        super().__init__(state=sync_client)

    @property
    def sync_client(self) -> BaseModelClient:
        """The sync client that owns the state (and, in-process, the weights)."""
        return self._state

    def _aturn(self, messages, tools, options, stream) -> AsyncIterator[StreamChunk]:
        aturn = getattr(self._state, "_aturn", None)
        if aturn is not None:  # cloud clients: the SDK's async object, the same adapter
            return aturn(messages, tools, options, stream)
        from workbench.aio.bridge import iterate_in_thread

        sync_client = self._state
        return iterate_in_thread(lambda: sync_client._turn(messages, tools, options, stream),
                                 name=f"workbench-aio-{sync_client.model_string}")


def client(model=None, *, system: str | None = None, **kwargs: Any) -> AsyncModelClient:
    """An async client for a model string / catalog member (default as ``wb.client``), or a sync client to wrap."""
    from workbench.api import default_model

    if isinstance(model, AsyncBaseModelClient) and system is None and not kwargs:
        return model
    if isinstance(model, BaseModelClient):
        if system is not None:
            kwargs["system"] = system
        return AsyncModelClient(model, **kwargs)
    return AsyncModelClient(model if model is not None else default_model(), system=system, **kwargs)


async def chat(user_message: str, *, model=None, system: str | None = None, generate_kwargs: dict | None = None,
               stream: bool = False, images: list | None = None, include=None, **kwargs: Any):
    """One-shot: a fresh async client, one message, the answer (or an async chunk stream).

    The client's connection is closed when the answer is complete (or the stream ends).
    """
    one_shot = client(model, system=system, **kwargs)
    try:
        answer = await one_shot.chat(user_message, generate_kwargs=generate_kwargs, stream=stream,
                                     images=images, include=include)
    except BaseException:
        await one_shot.aclose()
        raise
    if not stream:
        await one_shot.aclose()
        return answer
    return _closing(answer, one_shot)


async def _closing(chunks: AsyncIterator[StreamChunk], owner: AsyncBaseModelClient) -> AsyncIterator[StreamChunk]:
    try:
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk
    finally:
        await owner.aclose()
