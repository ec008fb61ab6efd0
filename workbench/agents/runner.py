"""Runner: the one interface for everything runnable (agents and workflows).

    answer = runner.run("task")                   # or stream=True for tagged StreamChunks
    runner.messages                               # {runner name: history list}
    state = runner.checkpoint()                   # JSON-able; no API keys
    runner.restore(state)                         # the next run() resumes from it

A concrete runner writes its decisions once, as ``_logic`` (a generator of effects, see
``effects.py``); ``run`` hands it to the sync driver, ``workbench.aio`` to its async one.

Your own runner needs only the public contract: a subclass that implements ``run(task,
generate_kwargs=None, stream=False, images=None)`` and ``messages`` (a list, or a dict
of lists by runner name) is a step of Chain, a worker of Parallel and a handler of Router,
sync and aio (``aio.AsyncRunner`` with ``async def run``), streaming or not: its default
``_logic`` asks the driver to call that ``run`` (the ``RunOwn`` effect).
"""

from __future__ import annotations

import copy
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Generator, Iterator

from workbench.agents.driver import drive
from workbench.relay import run_to_end
from workbench.errors import CheckpointError
from workbench.models.chunks import Phase, StreamChunk, filter_chunks
from workbench.models.client import BaseModelClient

CHECKPOINT_VERSION = 1


class Runner(ABC):
    """Base of Agent, SkillAgent, OrchestratorAgent and every workflow."""

    name: str
    last_result: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not any("name" in klass.__dict__ for klass in cls.__mro__):
            cls.name = cls.__name__      # a user runner that names nothing (instances may set their own)

    # -- what a concrete runner writes ----------------------------------------------------
    def _logic(self, task: str, *, images: list | None = None,
               generate_kwargs: dict | None = None) -> Generator[Any, Any, str]:
        """The runner's decisions as a generator of effects; returns the answer. The default
        is for a runner that implements the public ``run`` instead: the driver calls it."""
        from workbench.agents.effects import RunOwn

        if getattr(type(self).run, "_workbench_base_run", False):
            raise TypeError(f"{type(self).__name__} implements neither run(task, generate_kwargs=None, "
                            "stream=False, images=None) nor _logic(): a Runner needs one of them (and messages).")
        return (yield RunOwn(self, task, images, generate_kwargs))

    @property
    @abstractmethod
    def messages(self) -> dict[str, list[dict[str, Any]]]:
        """Message histories of this runner and its sub-runners, keyed by runner name."""

    def _position(self) -> dict[str, Any]:
        """Where a run stands (step, round, partial outputs): saved in checkpoints."""
        return {}

    def _restore_state(self, state: dict[str, Any]) -> None:
        """Restore histories and position from a checkpoint of this runner's type."""
        raise NotImplementedError

    def sub_runners(self) -> list["Runner"]:
        return []

    # -- the shared surface ---------------------------------------------------------------
    def run(self, task: str, generate_kwargs: dict | None = None, stream: bool = False,
            images: list | None = None, include=None) -> "str | Iterator[StreamChunk]":
        """Run the task; the answer, or (``stream=True``) StreamChunks tagged with agent and iteration."""
        if not isinstance(task, str):
            raise TypeError(f"A task must be a str, got {type(task).__name__}.")
        chunks = drive(self, task, images, generate_kwargs, stream)
        if stream:
            return filter_chunks(_relay(chunks), include)
        return run_to_end(chunks)

    run._workbench_base_run = True      # a subclass that keeps this run must write _logic

    def checkpoint(self) -> dict[str, Any]:
        """The live state as a JSON-able dict that ``restore`` (and ``save_checkpoint``) accept."""
        return {"type": type(self).__name__, "name": self.name, "version": CHECKPOINT_VERSION,
                "messages": copy.deepcopy(self.messages), "position": copy.deepcopy(self._position())}

    def restore(self, state: Any, **kwargs: Any) -> None:
        """Restore from ``checkpoint()`` output (or ``load_checkpoint``); the next run() resumes."""
        self._restore_state(check_state(self, state))

    def as_model_client(self) -> "RunnerClient":
        """A BaseModelClient view of this runner: its chat() runs the runner."""
        return RunnerClient(self)

    def clients(self) -> list[BaseModelClient]:
        """Every model client this runner uses (its own and its sub-runners')."""
        out: list[BaseModelClient] = []
        own = getattr(self, "model_client", None)
        if own is not None:
            out.append(own)
        for sub in self.sub_runners():
            out.extend(c for c in sub.clients() if all(c is not o for o in out))
        return out

    @property
    def _checkpoint_hooks(self) -> list[Callable[["Runner", str], None]]:
        return self.__dict__.setdefault("_hooks", [])


def _relay(chunks: Generator[StreamChunk, None, Any]) -> Iterator[StreamChunk]:
    yield from chunks  # drops the return value: a stream's answer is runner.last_result


def check_state(runner: Runner, state: Any) -> dict[str, Any]:
    """A checkpoint dict for ``runner``, or CheckpointError saying why it does not fit."""
    if not isinstance(state, dict) or "type" not in state or "messages" not in state:
        raise CheckpointError(
            f"{type(runner).__name__}.restore() takes a checkpoint (runner.checkpoint() or "
            f"workbench.load_checkpoint(path)); got {type(state).__name__}.")
    if state["type"] != type(runner).__name__:
        raise CheckpointError(
            f"This checkpoint belongs to a {state['type']} (named {state.get('name')!r}); it cannot restore "
            f"a {type(runner).__name__}. Restore it into a {state['type']} built the same way.")
    if not isinstance(state["messages"], dict):
        raise CheckpointError("The checkpoint's 'messages' must map runner names to message lists.")
    return state


def restore_sub(sub: Runner, messages: dict[str, list], position: dict[str, Any] | None = None) -> None:
    """Restore a sub-runner from the histories a parent checkpoint saved for it."""
    mine = {k: v for k, v in messages.items() if k in runner_messages(sub)}
    if not mine or not isinstance(sub.messages, dict):
        return        # (a user runner's own history is its business: it has no _restore_state)
    sub._restore_state({"type": type(sub).__name__, "name": sub.name, "version": CHECKPOINT_VERSION,
                        "messages": mine, "position": position or {}})


def runner_messages(runner: Any) -> dict[str, list[dict[str, Any]]]:
    """A runner's histories by runner name (a user runner's plain list is its own history)."""
    messages = runner.messages
    if isinstance(messages, dict):
        return messages
    from workbench.agents.effects import runner_label

    return {runner_label(runner): list(messages or [])}


def merged_messages(runners: list[Runner]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in runners:
        out.update(runner_messages(r))
    return out


def unique_names(runners: list[Runner], what: str) -> None:
    from workbench.errors import ConfigurationError

    names = [r.name for r in runners]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigurationError(
            f"{what} need distinct names (their histories are keyed by name); repeated: {', '.join(dupes)}. "
            "Pass name=... to each.")


def fork_client(client: BaseModelClient, system: str | None = None) -> BaseModelClient:
    """A client on the same connection and weights with its own, empty conversation.

    Workflows built ``from_client`` give every step its own history this way; the SDK
    object and any loaded weights are shared, not duplicated.
    """
    fork = getattr(client, "fork", None)
    if callable(fork):  # in-process clients: same weights, own history and KV cache; cloud
        return fork(system)   # clients: same connection, built by their own __init__
    # Other clients (a runner's view): a shallow copy with fresh conversation state below.
    twin = copy.copy(client)
    twin.__dict__.pop("chat", None)       # never a wrapper bound to the original (auto_checkpoint)
    twin._chat_owner = None
    twin.tools = list(client.tools)
    twin.default_generate_kwargs = dict(client.default_generate_kwargs)
    twin._system_message = system
    twin.messages = twin._fresh_messages()
    twin.last_thinking, twin.last_usage, twin.last_finish_reason, twin.last_partial = "", {}, None, None
    return twin


class RunnerClient(BaseModelClient):
    """``runner.as_model_client()``: chat() sends the message to the runner as a task.

    The view keeps its own conversation (user tasks and the runner's answers), so it can
    stand wherever a client is expected: another Agent, a notebook cell, a benchmark.
    """

    def __init__(self, runner: Runner, **kwargs: Any):
        from workbench.models.strings import resolve_model

        clients = runner.clients()
        model = clients[0].resolved if clients else resolve_model("openai-compat:runner")
        super().__init__(model, **kwargs)
        self.runner = runner

    def _turn(self, messages, tools, options, stream) -> Iterator[StreamChunk]:
        from workbench.models.inputs import message_images, message_text
        from workbench.models.turn import done_chunk

        last = next((m for m in reversed(messages) if m.get("role") == "user"), {"content": ""})
        started = time.perf_counter()
        answer = self.runner.run(message_text(last), generate_kwargs=dict(options) or None,
                                 images=message_images(last) or None)
        yield StreamChunk(Phase.TEXT, answer)
        yield done_chunk(finish_reason="stop", elapsed_s=time.perf_counter() - started,
                         model=f"runner:{self.runner.name}")

    def __repr__(self) -> str:
        return f"<RunnerClient {type(self.runner).__name__} {self.runner.name!r} messages={len(self.messages)}>"
