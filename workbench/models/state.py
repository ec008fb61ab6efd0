"""ChatState: the conversation state every client shares, sync or async.

``messages`` is a plain list of OpenAI-format dicts. When the client has a system
message it sits at ``messages[0]``, once. Thinking and other metadata may ride on
assistant messages (see ``turn.METADATA_KEYS``); adapters strip them before sending.
"""

from __future__ import annotations

import threading

from typing import Any, Iterable

from workbench.models.chunks import normalize_include
from workbench.models.inputs import user_message
from workbench.models.loop import ToolLoop
from workbench.models.strings import ResolvedModel, resolve_model
from workbench.models.turn import TurnResult

KEEP = "__keep__"


class ChatState:
    """State and bookkeeping; no I/O. Drivers live in BaseModelClient and aio."""

    def _init_state(self, model, *, system: str | None = None, tools: Iterable | None = None,
                    mcp_client=None, generate_kwargs: dict | None = None, thinking=None,
                    max_tool_rounds: int = 10) -> None:
        self.resolved: ResolvedModel = resolve_model(model)
        self.model = self.resolved.member or self.resolved.spec
        self.spec = self.resolved.spec
        self.tools: list = list(tools or [])
        self.mcp_client = mcp_client
        self.default_generate_kwargs: dict[str, Any] = dict(generate_kwargs or {})
        if thinking is not None:
            self.default_generate_kwargs["thinking"] = thinking
        self.max_tool_rounds = max_tool_rounds
        self._system_message: str | None = system
        self.messages: list[dict[str, Any]] = self._fresh_messages()
        self.last_thinking: str = ""
        self.last_usage: dict[str, int] = {}
        self.last_finish_reason: str | None = None
        self.last_partial: TurnResult | None = None
        self._chat_owner: object | None = None       # the chat() writing ``messages`` now
        self._chat_lock = threading.Lock()

    # -- one chat() at a time per history (the sync and async drivers share this) ----------
    def _claim_chat(self, owner: object, *, asynchronous: bool) -> None:
        """Mark ``messages`` as being written by ``owner``; a ClientBusyError naming the fix
        when another chat() still writes it (its turn would interleave with this one)."""
        from workbench.errors import ClientBusyError

        lock = self.__dict__.get("_chat_lock")
        if lock is None:                              # a client restored or copied without one
            lock = self.__dict__.setdefault("_chat_lock", threading.Lock())
        with lock:
            if getattr(self, "_chat_owner", None) is not None:
                where = "another task" if asynchronous else "another thread, or a stream not yet read to its end"
                fix = ("await it first, or give each task its own client (aio.client(model))" if asynchronous
                       else "finish or close() that stream first, or give each thread its own client "
                            "(wb.client(model), or c.fork())")
                raise ClientBusyError(f"{self!r} is already running a chat() in {where}: {fix}. "
                                      "generate() is safe to run concurrently (it never touches the history).")
            self._chat_owner = owner

    def _release_chat(self, owner: object) -> None:
        if getattr(self, "_chat_owner", None) is owner:
            self._chat_owner = None

    # -- identity -----------------------------------------------------------------------
    @property
    def model_string(self) -> str:
        return self.resolved.model_string

    @property
    def provider(self) -> str:
        return self.resolved.provider.name

    def __repr__(self) -> str:  # never shows credentials
        return f"<{type(self).__name__} {self.model_string} messages={len(self.messages)}>"

    # -- system message and history -------------------------------------------------------
    @property
    def system_message(self) -> str | None:
        return self._system_message

    @system_message.setter
    def system_message(self, value: str | None) -> None:
        self._system_message = value
        body = self._strip_system(self.messages)
        self.messages[:] = self._fresh_messages() + body

    def _fresh_messages(self) -> list[dict[str, Any]]:
        return [{"role": "system", "content": self._system_message}] if self._system_message else []

    @staticmethod
    def _strip_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        i = 0
        while i < len(messages) and messages[i].get("role") == "system":
            i += 1
        return list(messages[i:])

    def reset(self, system_message: str | None = KEEP) -> None:
        """Forget the conversation; keep the system message unless a new one (or None) is given."""
        if system_message != KEEP:
            self._system_message = system_message
        self.messages[:] = self._fresh_messages()

    def restore(self, messages: list[dict[str, Any]]) -> None:
        """Replace history with saved messages; a saved leading system message is never doubled.

        The client's own system message wins; a client without one adopts the saved one.
        """
        if isinstance(messages, dict) and "messages" in messages:  # a checkpoint state
            messages = messages["messages"]
        if not isinstance(messages, list) or not all(isinstance(m, dict) and "role" in m for m in messages):
            raise TypeError("restore() takes a list of message dicts, each with a 'role'.")
        saved_system = messages[0]["content"] if messages and messages[0].get("role") == "system" else None
        if self._system_message is None and saved_system:
            self._system_message = saved_system
        self.messages[:] = self._fresh_messages() + [dict(m) for m in self._strip_system(messages)]

    # -- one call's preparation and bookkeeping ---------------------------------------------
    def _merged_kwargs(self, generate_kwargs: dict | None) -> dict[str, Any]:
        merged = dict(self.spec.generation_kwargs)
        merged.update(self.default_generate_kwargs)
        merged.update(generate_kwargs or {})
        return merged

    def _start_chat(self, text: str, images, include) -> dict[str, Any]:
        normalize_include(include)  # fail early on a bad phase name
        return user_message(text, images)

    def _new_loop(self, history: list[dict[str, Any]], use_tools: bool, options: dict[str, Any] | None = None) -> ToolLoop:
        return ToolLoop(history, run_tools=use_tools and self._has_tools(), max_rounds=self.max_tool_rounds,
                        options=options)

    def _has_tools(self) -> bool:
        return bool(self.tools) or self.mcp_client is not None

    def _tally(self, loop: ToolLoop) -> None:
        self.last_thinking = loop.thinking
        usage: dict[str, int] = {}
        for turn in loop.turns:
            for k, v in turn.usage.items():
                usage[k] = usage.get(k, 0) + v
        self.last_usage = usage
        self.last_finish_reason = loop.last_turn.finish_reason if loop.last_turn else None
        self.last_partial = None

    def _record(self, loop: ToolLoop) -> None:
        """A turn finished (both drivers): its figures, then the history is committed."""
        self._tally(loop)
        self._turn_ended(loop, None)

    def _record_failure(self, loop: ToolLoop, turn: TurnResult, exc: BaseException) -> None:
        self._tally(loop)
        self.last_partial = turn
        if turn.thinking:
            self.last_thinking = (self.last_thinking + turn.thinking)
        try:
            if getattr(exc, "partial", None) is None:
                exc.partial = turn
        except AttributeError:
            pass
        self._turn_ended(loop, exc)

    def _turn_ended(self, loop: ToolLoop, error: BaseException | None) -> None:
        """After every chat() / generate(), both drivers: the call log gets the call; a
        chat() that completed tells the commit listeners (a ConversationManager saves it).
        Neither can fail the call: their own failures are warnings."""
        from workbench.log.runtime import record_turn

        record_turn(self, loop, error)
        listeners = self.__dict__.get("_commit_listeners")
        if error is None and listeners and loop.history is self.messages:
            for listener in list(listeners):
                listener(self)

    def on_commit(self, listener) -> None:
        """Call ``listener(client)`` after each chat() whose turn completed (the history then
        holds the whole turn); a fork or a new client does not inherit it."""
        self.__dict__.setdefault("_commit_listeners", []).append(listener)

    def remove_commit_listener(self, listener) -> None:
        listeners = self.__dict__.get("_commit_listeners") or []
        if listener in listeners:
            listeners.remove(listener)
