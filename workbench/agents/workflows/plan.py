"""PlanExecuteEvaluator: plan, execute, score, and replan with the feedback until it passes.

    pee = PlanExecuteEvaluator.from_client(client, judge_client=judge, criteria="Cites two sources.")
    pee.run("Summarize the state of fusion power")

Each round: the planner writes a plan (round 0 from the task, later rounds from the task,
the last result and the scorer's feedback), the executor carries it out, the scorer grades
the result. ``Score.is_pass(pass_threshold, pass_keyword)`` ends the loop. ``scores`` and
``last_outcome`` (``"passed"`` / ``"max_rounds"``) say how it went.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from workbench.agents.effects import Call, Checkpoint, Run
from workbench.agents.runner import Runner, unique_names
from workbench.agents.workflows.base import Workflow, agent_from_client
from workbench.errors import ConfigurationError

PLANNER_SYSTEM = "You are a planner. Write a short numbered plan of concrete steps; do not carry it out."
EXECUTOR_SYSTEM = "You are an executor. Carry out the plan you are given and reply with the result."


def plan_prompt(task: str, previous: str | None = None, feedback: str | None = None) -> str:
    if previous is None:
        return f"Write a plan for this task:\n{task}"
    return (f"Task:\n{task}\n\nThe previous attempt produced:\n{previous}\n\nIt was judged not good enough:\n"
            f"{feedback}\n\nWrite a new plan that fixes this.")


def execute_prompt(task: str, plan: str) -> str:
    return f"Task:\n{task}\n\nPlan:\n{plan}\n\nCarry out the plan and reply with the result."


@dataclass(eq=False)
class PlanExecuteEvaluator(Workflow):
    planner: Runner
    executor: Runner
    scorer: Any
    criteria: str | None = None
    name: str = "plan_execute_evaluator"
    max_rounds: int = 3
    pass_threshold: float = 0.7
    pass_keyword: str | None = None
    round: int = field(default=0, init=False)
    plan: str | None = field(default=None, init=False)
    result: str | None = field(default=None, init=False)
    scores: list[dict[str, Any]] = field(default_factory=list, init=False)
    last_outcome: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not callable(getattr(self.scorer, "score", None)):
            raise ConfigurationError("scorer needs a score(task, output, criteria) method "
                                     "(see workbench.prompts.scorer: KeywordScorer, LLMJudgeScorer).")
        if self.max_rounds < 1:
            raise ConfigurationError(f"max_rounds must be >= 1, got {self.max_rounds}.")
        unique_names([self.planner, self.executor], "The planner and the executor")

    @classmethod
    def from_client(cls, client, *, judge_client: Any = None, scorer: Any = None, criteria: str | None = None,
                    executor_tools: list[Callable] | None = None, skill_dirs: list | None = None,
                    planner_system_message: str | None = None, executor_system_message: str | None = None,
                    name: str = "plan_execute_evaluator", **kwargs: Any) -> "PlanExecuteEvaluator":
        from workbench.agents.runner import fork_client
        from workbench.agents.skills import SkillAgent
        from workbench.prompts.scorer import LLMJudgeScorer

        planner_system = planner_system_message or PLANNER_SYSTEM
        if skill_dirs:
            planner = SkillAgent(fork_client(client, planner_system), system_message=planner_system,
                                 name=f"{name}_planner", skill_dirs=list(skill_dirs))
        else:
            planner = agent_from_client(client, planner_system, f"{name}_planner")
        executor = agent_from_client(client, executor_system_message or EXECUTOR_SYSTEM, f"{name}_executor",
                                     tools=list(executor_tools or []), reset_messages_on_run=True)
        if scorer is None:
            scorer = LLMJudgeScorer(judge_client if judge_client is not None else fork_client(client, None))
        return cls(planner, executor, scorer, criteria=criteria, name=name, **kwargs)

    def sub_runners(self) -> list[Runner]:
        return [self.planner, self.executor]

    def _logic(self, task: str, *, images: list | None = None,
               generate_kwargs: dict | None = None) -> Generator[Any, Any, str]:
        resume = self._take_resume()
        feedback: str | None = None
        if resume and resume.get("result") is not None:
            self.round, self.plan, self.result = int(resume.get("round", 0)), resume.get("plan"), resume["result"]
            self.scores = list(resume.get("scores") or [])
            feedback = self.scores[-1]["feedback"] if self.scores else None
            self.round += 1  # the saved round was scored and failed: replan
        else:
            self.round, self.plan, self.result, self.scores = 0, None, None, []
        self.last_outcome = "running"
        while self.round < self.max_rounds:
            self.plan = yield Run(self.planner, plan_prompt(task, self.result, feedback),
                                  images if self.round == 0 else None, generate_kwargs)
            self.result = yield Run(self.executor, execute_prompt(task, self.plan), None, generate_kwargs)
            score = yield Call(self.scorer.score, (task, self.result, self.criteria))
            self.scores.append(score.to_dict() if hasattr(score, "to_dict") else dict(vars(score)))
            yield Checkpoint()
            if score.is_pass(self.pass_threshold, self.pass_keyword):
                self.last_outcome = "passed"
                return self.result
            feedback = score.feedback
            self.round += 1
        self.last_outcome = "max_rounds"
        warnings.warn(f"{self.name!r}: not passed after {self.max_rounds} round(s); returning the latest result.",
                      UserWarning, stacklevel=4)
        return self.result

    def _position(self) -> dict[str, Any]:
        return {"round": self.round, "plan": self.plan, "result": self.result, "scores": list(self.scores),
                "completed": self.last_outcome in ("passed", "max_rounds")}
