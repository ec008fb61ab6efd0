"""BaseModelClient (the sync driver of one chat turn) and the ModelClient factory.

A provider implements one method, ``_turn(messages, tools, options, stream)``: a
generator of StreamChunks for a single model call, ending with a ``done`` chunk. Every
other behaviour (history, the tool loop, include=, failure bookkeeping) is written once,
here and in ``state.py`` / ``loop.py``; the async surface adds a driver, not a copy.

Failure contract (tested): when a turn fails or is interrupted (an exception or
KeyboardInterrupt, also a consumer abandoning the stream), ``messages`` keeps the user's
message and every completed step, never a half-written assistant message; what the
failed model call produced is ``client.last_partial`` and ``exc.partial`` (a TurnResult).
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from workbench.models.chunks import Phase, StreamChunk, filter_chunks
from workbench.models.loop import CallModel, Finish, RunTools, ToolLoop
from workbench.models.state import ChatState
from workbench.models.turn import AnswerText, TurnResult


class BaseModelClient(ChatState):
    """The one-turn contract every provider client follows."""

    def __init__(self, model, *, system: str | None = None, tools: Iterable | None = None,
                 mcp_client=None, generate_kwargs: dict | None = None, thinking=None,
                 max_tool_rounds: int = 10, **_provider_options: Any):
        self._init_state(model, system=system, tools=tools, mcp_client=mcp_client,
                         generate_kwargs=generate_kwargs, thinking=thinking, max_tool_rounds=max_tool_rounds)

    # -- the provider hook ------------------------------------------------------------------
    def _turn(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
              options: dict[str, Any], stream: bool) -> Iterator[StreamChunk]:
        """One model call: yield thinking/text/tool_call chunks, then one done chunk."""
        raise NotImplementedError

    # -- public API -------------------------------------------------------------------------
    def chat(self, user_message: str, generate_kwargs: dict | None = None, use_tools: bool = True,
             stream: bool = False, images: list | None = None, include=None) -> "str | Iterator[StreamChunk]":
        """Send a message, keep the exchange in ``messages``; return the answer or a chunk stream."""
        message = self._start_chat(user_message, images, include)
        chunks = self._chat_chunks(message, self.messages, generate_kwargs, use_tools, stream)
        if stream:
            return filter_chunks(chunks, include)
        return self._consume(chunks)

    def generate(self, prompt: str, generate_kwargs: dict | None = None, use_tools: bool = False,
                 stream: bool = False, images: list | None = None, include=None) -> "str | Iterator[StreamChunk]":
        """A stateless call: system message + prompt; ``messages`` is never touched."""
        message = self._start_chat(prompt, images, include)
        scratch = self._fresh_messages()
        chunks = self._chat_chunks(message, scratch, generate_kwargs, use_tools, stream)
        if stream:
            return filter_chunks(chunks, include)
        return self._consume(chunks)

    # -- the sync driver --------------------------------------------------------------------
    def _chat_chunks(self, message, history, generate_kwargs, use_tools, stream) -> Iterator[StreamChunk]:
        options = self._merged_kwargs(generate_kwargs)
        owner = object()
        if history is self.messages:    # chat(): one writer of the history at a time
            self._claim_chat(owner, asynchronous=False)
        try:
            history.append(message)
            loop = self._new_loop(history, use_tools, options)
            yield from self._drive(loop, options, stream)
        finally:
            self._release_chat(owner)

    def _drive(self, loop: ToolLoop, options: dict[str, Any], stream: bool) -> Iterator[StreamChunk]:
        tools = self._tool_set() if loop.run_tools or self._has_tools() else None
        specs = tools.specs() if tools is not None else None
        while True:
            step = loop.next_step()
            if isinstance(step, Finish):
                self._record(loop)
                return
            if isinstance(step, CallModel):
                turn = TurnResult()
                try:
                    for chunk in self._turn(step.messages, specs, options, stream):
                        turn.feed(chunk)
                        yield chunk
                except BaseException as exc:
                    self._record_failure(loop, turn, exc)
                    raise
                loop.model_done(turn)
            elif isinstance(step, RunTools):
                results = []
                if getattr(self, "concurrent_tool_calls", False) and len(step.calls) > 1:
                    # Set by Agent(concurrent_tool_calls=True): one turn's calls run in a thread pool,
                    # generator tools' progress relayed live from all of them.
                    for result in (yield from tools.run_many_streaming(step.calls)):
                        results.append(result)
                        yield StreamChunk(Phase.TOOL_RESULT, result)
                else:
                    for call in step.calls:
                        result = yield from tools.run_streaming(call)    # a generator tool's progress, live
                        results.append(result)
                        yield StreamChunk(Phase.TOOL_RESULT, result)
                loop.tools_done(results)

    @staticmethod
    def _consume(chunks: Iterator[StreamChunk]) -> str:
        answer = AnswerText(own_only=True)
        for chunk in chunks:
            answer.feed(chunk)
        return answer.text

    def _tool_set(self):
        from workbench.tools.toolset import ToolSet

        return ToolSet(self.tools, self.mcp_client)


class ModelClient:
    """Factory: ``ModelClient("provider:model_id")`` or a catalog member gives the provider's client."""

    def __new__(cls, model, **kwargs: Any) -> BaseModelClient:
        return create_client(model, **kwargs)


def create_client(model, **kwargs: Any) -> BaseModelClient:
    from workbench.models.strings import resolve_model

    if isinstance(model, BaseModelClient):
        return model
    resolved = resolve_model(model)
    client_class = _client_class(resolved.provider)
    return client_class(resolved, **kwargs)


def _client_class(info):
    from workbench.errors import MissingDependencyError

    try:
        return info.load_client_class()
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top == "workbench":
            raise
        raise MissingDependencyError(top, info.extra) from exc
