"""OrchestratorAgent: an agent whose tools are other runners (workers).

    orchestrator = OrchestratorAgent.assemble(
        wb.client("anthropic:claude-sonnet-4-6"), "Split the work between your workers.",
        workers=[researcher, writer])
    orchestrator.run("Write a brief on X")

Each worker becomes a tool named after it (``researcher(task: str)``) whose description
is the worker's system message; calling it runs the worker and returns its answer. The
worker runs streamed: in a streaming orchestrator run its chunks (tagged with the worker's
name) show live, between the orchestrator's tool call and its result. With
``concurrent_tool_calls=True`` several workers requested in one turn run at once, their
chunks interleaved as they come.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from workbench.agents.agent import Agent
from workbench.agents.runner import Runner, merged_messages, restore_sub, unique_names


def worker_tool(worker: Runner) -> Callable[..., Any]:
    """A @tool that delegates a task to ``worker``: a generator tool, so the worker's chunks
    (tagged with its name) stream live in the orchestrator's stream; its answer is the output."""
    from workbench.agents.effects import runner_label
    from workbench.models.turn import AnswerText
    from workbench.tools.decorator import tool

    label = runner_label(worker)
    if inspect.iscoroutinefunction(worker.run):  # a workbench.aio worker: an async generator tool
        async def delegate(task: str):
            _forget_result(worker)
            out = await worker.run(task, stream=True)
            if isinstance(out, str):
                yield out
                return
            answer = AnswerText()
            async for chunk in out:
                yield answer.feed(chunk).tagged(label, 0)
            yield _answer_of(worker, answer)
    else:
        def delegate(task: str):
            _forget_result(worker)
            out = worker.run(task, stream=True)
            if isinstance(out, str):                 # a user runner whose run() does not stream
                return out
            answer = AnswerText()
            for chunk in out:
                yield answer.feed(chunk).tagged(label, 0)
            return _answer_of(worker, answer)

    role = getattr(worker, "system_message", None) or f"the {type(worker).__name__} {worker.name!r}"
    name = re.sub(r"\W+", "_", worker.name).strip("_") or "worker"
    description = (f"Delegate a task to the worker {worker.name!r} ({role[:300]}). "
                   "Give it a complete, self-contained task; it returns its answer.")
    delegate.__annotations__ = {"task": str}
    delegate.__doc__ = f"{description}\n\nArgs:\n    task: The task for this worker, with all the context it needs."
    return tool(delegate, name=name, description=description)


def _forget_result(worker: Any) -> None:
    try:
        worker.last_result = None
    except AttributeError:       # a user runner that keeps no last_result
        pass


def _answer_of(worker: Any, answer: Any) -> Any:
    """What the worker's run returned (a Parallel's joined outputs, say), read from
    ``last_result`` where the runner keeps it; else the streamed answer text."""
    result = getattr(worker, "last_result", None)
    return result if result is not None else answer.final


@dataclass(eq=False)
class OrchestratorAgent(Agent):
    workers: list[Runner] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.name is None:
            self.name = "orchestrator"
        unique_names(self.workers, "An orchestrator's workers")
        self.tools = list(self.tools) + [worker_tool(w) for w in self.workers]
        super().__post_init__()
        unique_names([self] + list(self.workers), "An orchestrator and its workers")

    @classmethod
    def assemble(cls, model_client, system_message: str, *, workers: list[Runner], name: str = "orchestrator",
                 concurrent_tool_calls: bool = True, **kwargs: Any) -> "OrchestratorAgent":
        """A ready-to-run orchestrator over ``workers`` (no subclass needed)."""
        return cls(model_client, system_message=system_message, name=name, workers=list(workers),
                   concurrent_tool_calls=concurrent_tool_calls, **kwargs)

    def sub_runners(self) -> list[Runner]:
        return list(self.workers)

    @property
    def messages(self) -> dict[str, list[dict[str, Any]]]:
        return {self.name: self.model_client.messages, **merged_messages(self.workers)}

    def _restore_state(self, state: dict[str, Any]) -> None:
        saved = state["messages"]
        super()._restore_state({**state, "messages": {self.name: saved[self.name]}}
                               if self.name in saved else state)
        for worker in self.workers:
            restore_sub(worker, saved)
