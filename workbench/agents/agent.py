"""Agent: a model client that keeps working until the model has finished the task.

    agent = Agent(wb.client("openai:gpt-4.1"), system_message="You are a researcher.",
                  tools=[search, fetch], max_iterations=8)
    agent.run("Find three sources on X")

One iteration is one ``client.chat``, which itself runs the whole tool loop (model, tools,
model, ...) until the model answers without tool calls, bounded by the client's
``max_tool_rounds``. An iteration whose model answered is the end of the run: no extra
"continue" turn is sent. Only when the client's loop stopped at its round bound while the
model still wanted tools (``ChatOutcome.tools_pending``) does the agent send
``continuation_prompt`` and go again. ``max_iterations`` bounds those chats; reaching it with
tools still pending is reported, not hidden: ``agent.last_outcome`` becomes
``"max_iterations"`` and a ``MaxIterationsWarning`` is issued.

History lives in ``agent.model_client.messages`` (the live list, also after a failure).
``restore`` marks the agent so that the next run keeps the restored history even with
``reset_messages_on_run=True``; the system message is set, never prepended twice.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from workbench.agents.effects import Chat, Checkpoint
from workbench.agents.runner import Runner, check_state
from workbench.errors import CheckpointError, ConfigurationError

DEFAULT_CONTINUATION_PROMPT = (
    "Continue with the task. Use tools if you still need them; when the task is complete, "
    "reply with the final answer and call no tools.")


class MaxIterationsWarning(UserWarning):
    """An agent stopped at max_iterations while the client's tool loop still had tools pending."""


@dataclass(eq=False)
class Agent(Runner):
    model_client: Any
    system_message: str | None = None
    name: str | None = None
    tools: list[Callable] = field(default_factory=list)
    max_iterations: int = 10
    continuation_prompt: str = DEFAULT_CONTINUATION_PROMPT
    reset_messages_on_run: bool = False
    concurrent_tool_calls: bool = False
    last_outcome: str | None = field(default=None, init=False)   # "completed" | "max_iterations" | "failed"
    iterations: int = field(default=0, init=False)
    _restored: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self._check_client(self.model_client)
        if not isinstance(self.max_iterations, int) or self.max_iterations < 1:
            raise ConfigurationError(f"max_iterations must be an int >= 1, got {self.max_iterations!r}.")
        if self.name is None:
            self.name = "agent"
        self._attach_tools()
        self._apply_system_message()

    # -- wiring -----------------------------------------------------------------------------
    @staticmethod
    def _check_client(client: Any) -> None:
        """A sync model client; ``workbench.aio.Agent`` overrides this to take async ones."""
        from workbench.models.client import BaseModelClient

        if not isinstance(client, BaseModelClient):
            hint = (" That is an async client: use workbench.aio.Agent (and 'await agent.run(...)')."
                    if type(client).__module__.startswith("workbench.aio") else "")
            raise ConfigurationError(
                f"Agent needs a model client (wb.client('provider:model')), got {type(client).__name__}.{hint}")

    def _attach_tools(self) -> None:
        # The agent's tools join the client's (by name; the agent's win), so the client's own
        # tool loop runs them and an MCP client on the client keeps working.
        from workbench.tools.decorator import ensure_tool, tool_name

        self.tools = [ensure_tool(t) for t in self.tools]
        mine = {tool_name(t): t for t in self.tools}
        kept = [t for t in self.model_client.tools if tool_name(t) not in mine]
        self.model_client.tools[:] = kept + list(mine.values())
        self.model_client.concurrent_tool_calls = self.concurrent_tool_calls

    def effective_system_message(self) -> str | None:
        return self.system_message

    def _apply_system_message(self) -> None:
        wanted = self.effective_system_message()
        if wanted is not None and self.model_client.system_message != wanted:
            self.model_client.system_message = wanted  # the setter keeps the history

    def _prepare_run(self, task: str) -> None:
        if self.reset_messages_on_run and not self._restored:
            self.model_client.reset()
        history = self.model_client.messages
        if self._restored and history and history[-1].get("role") == "user" \
                and history[-1].get("content") == task:
            # A checkpoint taken after a failed call ends with the unanswered task; asking it
            # again must not put it in history twice.
            history.pop()
        self._restored = False  # a restore protects exactly the next run
        self._attach_tools()
        self._apply_system_message()

    # -- the decisions ----------------------------------------------------------------------
    def _logic(self, task: str, *, images: list | None = None,
               generate_kwargs: dict | None = None) -> Generator[Any, Any, str]:
        self._prepare_run(task)
        self.iterations, self.last_outcome = 0, "running"
        try:
            outcome = yield Chat(self.model_client, task, images, generate_kwargs, self.name, 0)
            self.iterations = 1
            yield Checkpoint()
            while outcome.tools_pending:  # the client ran out of tool rounds mid-task
                if self.iterations >= self.max_iterations:
                    self.last_outcome = "max_iterations"
                    warnings.warn(
                        f"Agent {self.name!r} reached max_iterations={self.max_iterations} while the model was "
                        "still using tools; the answer may be unfinished. Raise max_iterations or run() again "
                        "to continue.", MaxIterationsWarning, stacklevel=4)
                    return outcome.text
                outcome = yield Chat(self.model_client, self.continuation_prompt, None, generate_kwargs,
                                     self.name, self.iterations)
                self.iterations += 1
                yield Checkpoint()
        except BaseException:
            self.last_outcome = "failed"
            raise
        self.last_outcome = "completed"
        return outcome.text

    # -- state ------------------------------------------------------------------------------
    @property
    def messages(self) -> dict[str, list[dict[str, Any]]]:
        return {self.name: self.model_client.messages}

    def _position(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "last_outcome": self.last_outcome}

    def checkpoint(self) -> dict[str, Any]:
        state = super().checkpoint()
        state["system_message"] = self.model_client.system_message
        state["model"] = self.model_client.model_string
        return state

    def restore(self, state: Any, **kwargs: Any) -> None:
        """Restore from a checkpoint, a client checkpoint, a ``{name: messages}`` dict or a message list."""
        self._restore_state(self._as_state(state))

    def _as_state(self, state: Any) -> dict[str, Any]:
        if isinstance(state, list):
            return {"type": type(self).__name__, "messages": {self.name: state}, "position": {}}
        if isinstance(state, dict) and state.get("type") == "client":  # save_checkpoint(client) output
            return {"type": type(self).__name__, "messages": {self.name: state["messages"]}, "position": {}}
        if isinstance(state, dict) and "type" not in state and state and \
                all(isinstance(v, list) for v in state.values()):
            return {"type": type(self).__name__, "messages": state, "position": {}}
        return check_state(self, state)

    def _restore_state(self, state: dict[str, Any]) -> None:
        saved = state["messages"]
        if self.name in saved:
            history = saved[self.name]
        elif len(saved) == 1:
            history = next(iter(saved.values()))
        else:
            raise CheckpointError(
                f"The checkpoint has no history for an agent named {self.name!r} (it has {', '.join(saved)}); "
                "build the agent with the same name.")
        try:
            self.model_client.restore(history)
        except TypeError as exc:
            raise CheckpointError(f"Cannot restore agent {self.name!r}: {exc}") from None
        self._apply_system_message()
        position = state.get("position") or {}
        self.iterations = int(position.get("iterations", 0) or 0)
        self.last_outcome = position.get("last_outcome")
        self._restored = True

    def reset(self) -> None:
        """Forget the conversation (the system message stays)."""
        self.model_client.reset()
        self._restored = False


