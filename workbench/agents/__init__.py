"""Agents (the model directs the flow) and workflows (code directs the flow), all Runners.

Imported lazily: ``import workbench.agents`` loads no SDK, torch or fastmcp.
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "Runner": "workbench.agents.runner:Runner",
    "RunnerClient": "workbench.agents.runner:RunnerClient",
    "Agent": "workbench.agents.agent:Agent",
    "MaxIterationsWarning": "workbench.agents.agent:MaxIterationsWarning",
    "DEFAULT_CONTINUATION_PROMPT": "workbench.agents.agent:DEFAULT_CONTINUATION_PROMPT",
    "SkillAgent": "workbench.agents.skills:SkillAgent",
    "Skill": "workbench.agents.skills:Skill",
    "discover_skills": "workbench.agents.skills:discover_skills",
    "OrchestratorAgent": "workbench.agents.orchestrator:OrchestratorAgent",
    "Chain": "workbench.agents.workflows.chain:Chain",
    "Router": "workbench.agents.workflows.router:Router",
    "RoutingError": "workbench.agents.workflows.router:RoutingError",
    "Parallel": "workbench.agents.workflows.parallel:Parallel",
    "WorkersFailedError": "workbench.agents.workflows.parallel:WorkersFailedError",
    "EvaluatorOptimizer": "workbench.agents.workflows.evaluator:EvaluatorOptimizer",
    "PlanExecuteEvaluator": "workbench.agents.workflows.plan:PlanExecuteEvaluator",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
