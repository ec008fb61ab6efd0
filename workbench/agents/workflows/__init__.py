"""Code-directed workflows: Chain, Router, Parallel, EvaluatorOptimizer, PlanExecuteEvaluator."""

from __future__ import annotations

import importlib

_LAZY = {
    "Chain": "workbench.agents.workflows.chain:Chain",
    "Router": "workbench.agents.workflows.router:Router",
    "Parallel": "workbench.agents.workflows.parallel:Parallel",
    "EvaluatorOptimizer": "workbench.agents.workflows.evaluator:EvaluatorOptimizer",
    "PlanExecuteEvaluator": "workbench.agents.workflows.plan:PlanExecuteEvaluator",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'workbench.agents.workflows' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
