"""Parallel: the same task to several workers at once, then an optional aggregator.

    panel = Parallel.from_client(client, ["Argue for.", "Argue against.", "List the facts."],
                                 aggregator_prompt="Weigh the three views and conclude.")
    panel.run("Should we adopt four-day weeks?")

Every worker runs to completion, even when another fails. Finished outputs are kept in
``outputs`` (and in ``checkpoint()``); if any worker failed, ``WorkersFailedError`` names
them. After ``restore(state)`` the next run re-runs only the workers that had not finished.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generator

from workbench.agents.effects import Checkpoint, Run, RunAll
from workbench.agents.runner import Runner, unique_names
from workbench.agents.workflows.base import Workflow, agent_from_client
from workbench.errors import ConfigurationError, WorkbenchError


class WorkersFailedError(WorkbenchError):
    """Some Parallel workers failed; ``errors`` maps their names to the exceptions, ``outputs``
    holds what the others produced (also in the workflow's checkpoint)."""

    def __init__(self, workflow: str, errors: dict[str, BaseException], outputs: dict[str, str]):
        self.errors = errors
        self.outputs = outputs
        detail = "; ".join(f"{n}: {type(e).__name__}: {e}" for n, e in errors.items())
        super().__init__(
            f"Parallel {workflow!r}: {len(errors)} worker(s) failed ({detail}). The {len(outputs)} finished "
            "output(s) are kept: save_checkpoint() now, and run() again after restore() to re-run only the "
            "failed workers.")


@dataclass(eq=False)
class Parallel(Workflow):
    workers: list[Runner]
    name: str = "parallel"
    aggregator: Runner | None = None
    separator: str = "\n\n---\n\n"
    max_workers: int | None = None
    outputs: dict[str, str] = field(default_factory=dict, init=False)
    failures: dict[str, str] = field(default_factory=dict, init=False)
    completed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not self.workers:
            raise ConfigurationError("Parallel needs at least one worker (workers=[...]).")
        unique_names(self.sub_runners(), "Parallel workers and the aggregator")

    @classmethod
    def from_client(cls, client, prompts: list[str], *, aggregator_prompt: str | None = None,
                    name: str = "parallel", **kwargs: Any) -> "Parallel":
        workers = [agent_from_client(client, p, f"{name}_worker_{i}", reset_messages_on_run=True)
                   for i, p in enumerate(prompts)]
        aggregator = agent_from_client(client, aggregator_prompt, f"{name}_aggregator",
                                       reset_messages_on_run=True) if aggregator_prompt else None
        return cls(workers, name=name, aggregator=aggregator, **kwargs)

    def sub_runners(self) -> list[Runner]:
        return list(self.workers) + ([self.aggregator] if self.aggregator is not None else [])

    def _logic(self, task: str, *, images: list | None = None,
               generate_kwargs: dict | None = None) -> Generator[Any, Any, str]:
        resume = self._take_resume()
        done = dict(resume.get("outputs") or {}) if resume else {}
        self.outputs, self.failures, self.completed = done, {}, False
        todo = [w for w in self.workers if w.name not in done]
        try:
            results = yield RunAll([(w, task) for w in todo], images, generate_kwargs, self.max_workers)
        except ExceptionGroup as failed:  # an async driver cancelled the rest after a failure
            for outcome in getattr(failed, "outcomes", ()):  # keep what finished, for resume
                self.outputs[outcome.runner.name] = outcome.value
            yield Checkpoint()
            raise
        errors = {}
        for outcome in results:
            if outcome.ok:
                self.outputs[outcome.runner.name] = outcome.value
            else:
                errors[outcome.runner.name] = outcome.error
                self.failures[outcome.runner.name] = f"{type(outcome.error).__name__}: {outcome.error}"
        yield Checkpoint()
        if errors:
            raise WorkersFailedError(self.name, errors, dict(self.outputs)) from next(iter(errors.values()))
        joined = self.separator.join(self.outputs[w.name] for w in self.workers)
        if self.aggregator is not None:
            joined = yield Run(self.aggregator, joined, None, generate_kwargs)
        self.completed = True
        return joined

    def _position(self) -> dict[str, Any]:
        return {"outputs": dict(self.outputs), "failures": dict(self.failures), "completed": self.completed}
