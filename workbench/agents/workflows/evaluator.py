"""EvaluatorOptimizer: generate, critique, revise, until the critique passes.

    loop = EvaluatorOptimizer.from_client(client, generator_prompt="You write product copy.",
                                          evaluator_prompt="You review copy. Say PASS when it is ready.")
    loop.run("Copy for a solar lantern")

Each round the evaluator critiques the current draft; a critique containing
``pass_keyword`` (as a word) ends the loop. Otherwise the generator revises, up to
``max_rounds`` critiques. ``last_outcome`` is ``"passed"`` or ``"max_rounds"`` (the latest
draft is returned either way). ``restore`` restores the generator (a message list, or a
checkpoint that also resumes at its round); the evaluator starts fresh.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Generator

from workbench.agents.effects import Checkpoint, Run
from workbench.agents.runner import Runner, check_state, unique_names
from workbench.agents.workflows.base import Workflow, agent_from_client
from workbench.errors import ConfigurationError


def evaluation_prompt(task: str, draft: str, pass_keyword: str) -> str:
    return (f"Task:\n{task}\n\nDraft:\n{draft}\n\nEvaluate the draft against the task. If it fully meets "
            f"the task, answer {pass_keyword}. Otherwise give specific, actionable feedback.")


def revision_prompt(feedback: str) -> str:
    return f"Revise your last answer using this feedback. Reply with the full revised answer only.\n\n{feedback}"


def passes(critique: str, keyword: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", critique) is not None


@dataclass(eq=False)
class EvaluatorOptimizer(Workflow):
    generator: Runner
    evaluator: Runner
    name: str = "evaluator_optimizer"
    max_rounds: int = 3
    pass_keyword: str = "PASS"
    round: int = field(default=0, init=False)
    draft: str | None = field(default=None, init=False)
    critiques: list[str] = field(default_factory=list, init=False)
    last_outcome: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.max_rounds < 1:
            raise ConfigurationError(f"max_rounds must be >= 1, got {self.max_rounds}.")
        unique_names([self.generator, self.evaluator], "The generator and the evaluator")

    @classmethod
    def from_client(cls, client, *, generator_prompt: str | None = None, evaluator_prompt: str | None = None,
                    name: str = "evaluator_optimizer", **kwargs: Any) -> "EvaluatorOptimizer":
        keyword = kwargs.get("pass_keyword", "PASS")
        evaluator_prompt = evaluator_prompt or (
            f"You are a strict reviewer. Answer {keyword} when the draft fully meets the task; "
            "otherwise give specific feedback.")
        return cls(agent_from_client(client, generator_prompt, f"{name}_generator"),
                   agent_from_client(client, evaluator_prompt, f"{name}_evaluator", reset_messages_on_run=True),
                   name=name, **kwargs)

    def sub_runners(self) -> list[Runner]:
        return [self.generator, self.evaluator]

    def _logic(self, task: str, *, images: list | None = None,
               generate_kwargs: dict | None = None) -> Generator[Any, Any, str]:
        resume = self._take_resume()
        if resume and resume.get("draft") is not None:
            self.round, self.draft = int(resume.get("round", 0)), resume["draft"]
            self.critiques = list(resume.get("critiques") or [])
        else:
            self.round, self.critiques = 0, []
            self.draft = yield Run(self.generator, task, images, generate_kwargs)
            yield Checkpoint()
        self.last_outcome = "running"
        while True:
            critique = yield Run(self.evaluator, evaluation_prompt(task, self.draft, self.pass_keyword),
                                 None, generate_kwargs)
            self.critiques.append(critique)
            if passes(critique, self.pass_keyword):
                self.last_outcome = "passed"
                return self.draft
            if self.round + 1 >= self.max_rounds:
                self.last_outcome = "max_rounds"
                warnings.warn(f"{self.name!r}: no {self.pass_keyword} after {self.max_rounds} round(s); "
                              "returning the latest draft.", UserWarning, stacklevel=4)
                return self.draft
            self.draft = yield Run(self.generator, revision_prompt(critique), None, generate_kwargs)
            self.round += 1
            yield Checkpoint()

    def restore(self, state: Any, **kwargs: Any) -> None:
        """Restore the generator (messages or a checkpoint); the evaluator starts fresh."""
        if isinstance(state, list):
            self.generator.restore(state)
            self._resume = None
        else:
            state = check_state(self, state)
            super()._restore_state({**state, "messages": {k: v for k, v in state["messages"].items()
                                                         if k in self.generator.messages}})
        if hasattr(self.evaluator, "reset"):
            self.evaluator.reset()

    def _position(self) -> dict[str, Any]:
        return {"round": self.round, "draft": self.draft, "critiques": list(self.critiques),
                "completed": self.last_outcome in ("passed", "max_rounds")}
