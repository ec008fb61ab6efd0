"""Chain: prompt chaining; each step's output is the next step's input.

    chain = Chain.from_client(client, ["Outline the topic.", "Write the text from the outline.",
                                       "Edit the text for clarity."])
    chain.run("Tide pools")

Resuming: after a failure at step k, ``chain.checkpoint()`` records k and the outputs of
the finished steps; ``restore(state)`` and ``run(task)`` continue at step k with the saved
output of step k-1. ``restore(messages, step=k)`` restores only step k's history; the next
run starts at step k with its ``task`` as step k's input, and later steps start fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generator

from workbench.agents.effects import Checkpoint, Run
from workbench.agents.runner import Runner, unique_names
from workbench.agents.workflows.base import Workflow, agent_from_client
from workbench.errors import ConfigurationError


@dataclass(eq=False)
class Chain(Workflow):
    agents: list[Runner]
    name: str = "chain"
    step: int = field(default=0, init=False)              # the step running or next to run
    outputs: list[str] = field(default_factory=list, init=False)
    completed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not self.agents:
            raise ConfigurationError("A Chain needs at least one step (agents=[...]).")
        unique_names(self.agents, "A Chain's steps")

    @classmethod
    def from_client(cls, client, prompts: list[str], *, name: str = "chain", **agent_kwargs: Any) -> "Chain":
        """One Agent per prompt (its system message), each on its own fork of ``client``."""
        agent_kwargs.setdefault("reset_messages_on_run", True)
        return cls([agent_from_client(client, p, f"{name}_step_{i}", **agent_kwargs)
                    for i, p in enumerate(prompts)], name=name)

    def sub_runners(self) -> list[Runner]:
        return list(self.agents)

    def _logic(self, task: str, *, images: list | None = None,
               generate_kwargs: dict | None = None) -> Generator[Any, Any, str]:
        resume = self._take_resume()
        start = int(resume.get("step", 0)) if resume else 0
        if not 0 <= start < len(self.agents):
            raise ConfigurationError(f"Cannot resume a {len(self.agents)}-step Chain at step {start}.")
        saved = list(resume.get("outputs") or [])[:start] if resume else []
        self.outputs, self.completed = saved, False
        current = saved[start - 1] if start and len(saved) >= start else task
        for i in range(start, len(self.agents)):
            self.step = i
            current = yield Run(self.agents[i], current, images if i == 0 else None, generate_kwargs)
            self.outputs.append(current)
            self.step = i + 1
            yield Checkpoint()
        self.completed = True
        return current

    def restore(self, state: Any, step: int | None = None, **kwargs: Any) -> None:
        """Restore a checkpoint, or (a message list) step ``step``'s history and resume there."""
        if isinstance(state, list):
            k = 0 if step is None else step
            if not 0 <= k < len(self.agents):
                raise ConfigurationError(f"step must be in 0..{len(self.agents) - 1}, got {k}.")
            self.agents[k].restore(state)
            for later in self.agents[k + 1:]:
                if hasattr(later, "reset"):
                    later.reset()
            self._resume = {"step": k, "outputs": []}
            return
        super().restore(state)
        if step is not None:
            self._resume = {**(self._resume or {}), "step": step}

    def _position(self) -> dict[str, Any]:
        return {"step": self.step, "outputs": list(self.outputs), "completed": self.completed}
