"""The effect protocol: how every agent and workflow decision is written once, without I/O.

A runner's logic is a generator, ``Runner._logic(task, images=..., generate_kwargs=...)``.
It never calls a model, a sub-runner or a thread pool itself. It *yields an effect* that
says what it needs, and a driver performs it and sends the result back:

    outcome = yield Chat(client, "Write a haiku", None, None, agent="poet", iteration=0)
    text    = yield Run(reviewer, outcome.text)
    results = yield RunAll([(w, task) for w in workers])
    score   = yield Call(scorer.score, task, text)
    yield Checkpoint()
    return final_text                    # StopIteration.value is the run's answer

A driver executes each effect and answers as follows (``agents/driver.py`` is the sync
driver; the async driver in ``workbench.aio`` follows the same table):

=========== ====================================================================================
Effect      What the driver does, and what it sends back
=========== ====================================================================================
Chat        ``n = len(client.messages)``; ``client.chat(message, generate_kwargs=...,
            images=...)`` (``stream=True`` when the run streams: relay every chunk as
            ``chunk.tagged(effect.agent, effect.iteration)``), then send
            ``chat_outcome(client.messages, n, text)`` (a :class:`ChatOutcome`).
Run         Drive ``runner._logic(...)`` recursively with the same driver (so inner chunks
            stream live, already tagged by the inner runner); send its return value.
RunAll      Sync: drive every ``(runner, task)`` in threads and let all of them finish;
            send a list of :class:`Outcome` in the given order (a failure is an Outcome
            with ``error``, never raised). Async (``workbench.aio``): a TaskGroup; the
            first failure cancels the rest and ``RunAllFailed`` (an ExceptionGroup of
            every error, ``.outcomes`` = what finished) is thrown in at the ``yield``.
            Chunks are relayed as they come.
RunOwn      A runner with only the public contract (a user's ``run`` and ``messages``):
            call ``runner.run(task, generate_kwargs=..., stream=..., images=...)`` (async
            drivers await an ``async def run``, and run a sync one in a thread); relay its
            chunks tagged with the runner's name; send its answer.
Call        Send ``fn(*args, **kwargs)`` (async drivers run it in a thread).
Checkpoint  Call ``fire_checkpoint_hooks(runner, "iteration")`` for every runner being
            driven, outermost first; send None.
=========== ====================================================================================

Failures: when performing an effect raises an ``Exception``, the driver throws it into
the generator at the ``yield`` (``gen.throw(exc)``); logic that does not catch it lets it
propagate. When a run ends, the driver sets ``runner.last_result`` and fires the hooks
with ``"finished"``; when it fails, with ``"failed"`` (auto-checkpoints save either way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from workbench.agents.runner import Runner


@dataclass(frozen=True)
class Chat:
    """One ``client.chat`` (the client runs its own tool loop inside)."""

    client: Any
    message: str
    images: list | None = None
    generate_kwargs: dict | None = None
    agent: str | None = None
    iteration: int = 0


@dataclass(frozen=True)
class ChatOutcome:
    text: str
    used_tools: bool       # the model requested at least one tool during this chat
    tools_pending: bool    # the client's tool loop stopped (max_tool_rounds) with tools requested


@dataclass(frozen=True)
class Run:
    """Run a sub-runner to completion."""

    runner: "Runner"
    task: str
    images: list | None = None
    generate_kwargs: dict | None = None


@dataclass(frozen=True)
class RunOwn:
    """Run a runner that implements only the public contract (``run`` and ``messages``), as
    a user's own Runner subclass does: the driver calls its ``run``."""

    runner: Any
    task: str
    images: list | None = None
    generate_kwargs: dict | None = None


def runner_label(runner: Any) -> str:
    """The name a user runner's chunks are tagged with (its ``name``, else its class name)."""
    name = getattr(runner, "name", None)
    return name if isinstance(name, str) and name else type(runner).__name__


@dataclass(frozen=True)
class Outcome:
    runner: "Runner"
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class RunAll:
    """Run several sub-runners concurrently; every one runs to completion."""

    items: list[tuple["Runner", str]]
    images: list | None = None
    generate_kwargs: dict | None = None
    max_workers: int | None = None


@dataclass(frozen=True)
class Call:
    """A plain (possibly blocking) function call, e.g. a Scorer."""

    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    """An iteration or step completed: a good moment to save the live state."""


Effect = Chat | Run | RunAll | Call | Checkpoint


def chat_started(client: Any, effect: "Chat") -> int:
    """Where the chat's new messages will start; the agent's name tags its calls in the log."""
    from workbench.log.runtime import tag_client

    if effect.agent:
        tag_client(client, agent=effect.agent)
    return len(client.messages)


def chat_outcome(history: list[dict[str, Any]], start: int, text: str) -> ChatOutcome:
    """What a chat did, read from the history it appended after index ``start``."""
    new = history[start:]
    used = any(m.get("role") == "assistant" and m.get("tool_calls") for m in new)
    pending = bool(new) and new[-1].get("role") == "tool"
    return ChatOutcome(text, used, pending)


def fire_checkpoint_hooks(runner: "Runner", event: str) -> None:
    """Run the runner's checkpoint hooks; a failing hook warns instead of killing the run."""
    import warnings

    for hook in list(getattr(runner, "_checkpoint_hooks", ())):
        try:
            hook(runner, event)
        except Exception as exc:
            warnings.warn(f"Checkpoint hook {hook!r} failed on {event!r}: {exc}", RuntimeWarning, stacklevel=2)
