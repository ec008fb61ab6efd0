"""Code-directed workflows: Chain, Router, Parallel, EvaluatorOptimizer, PlanExecuteEvaluator."""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "Chain": "workbench.agents.workflows.chain:Chain",
    "Router": "workbench.agents.workflows.router:Router",
    "Parallel": "workbench.agents.workflows.parallel:Parallel",
    "EvaluatorOptimizer": "workbench.agents.workflows.evaluator:EvaluatorOptimizer",
    "PlanExecuteEvaluator": "workbench.agents.workflows.plan:PlanExecuteEvaluator",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
