"""aio twins of the workflows: the sync classes' logic, driven by the async driver.

    chain = aio.Chain.from_client(aio.client("openai:gpt-4.1"), ["Outline.", "Write.", "Edit."])
    await chain.run("Tide pools")
    par = aio.Parallel([a1, a2, a3], aggregator=summarizer)
    await par.run("task")

``Parallel`` runs its workers in an ``asyncio.TaskGroup``: when one fails, the others
still running are cancelled and the errors are raised together (``RunAllFailed``, an
ExceptionGroup; its ``outcomes`` keep what finished). The sync Parallel lets every worker
finish instead.

``from_client`` builds exactly what the sync ``from_client`` builds (on the wrapped sync
client, so forks share its connection and weights), then turns every runner in it into
its aio twin and wraps each forked client: one construction logic for both surfaces.
"""

from __future__ import annotations

from typing import Any

from workbench.agents import agent as _agent
from workbench.agents import orchestrator as _orchestrator
from workbench.agents import skills as _skills
from workbench.agents.runner import Runner
from workbench.agents.workflows import chain as _chain
from workbench.agents.workflows import evaluator as _evaluator
from workbench.agents.workflows import parallel as _parallel
from workbench.agents.workflows import plan as _plan
from workbench.agents.workflows import router as _router
from workbench.aio import agents as _aio_agents
from workbench.aio.model_client import AsyncModelClient
from workbench.aio.runner import AsyncRunner
from workbench.models.client import BaseModelClient


class AsyncWorkflow(AsyncRunner):
    """Base of the aio workflows: ``from_client`` reuses the sync construction."""

    @classmethod
    def from_client(cls, client, *args: Any, **kwargs: Any):
        """As the sync ``from_client``, with an async client (judge clients may be either)."""
        for key in ("judge_client",):
            if isinstance(kwargs.get(key), AsyncModelClient):
                kwargs[key] = kwargs[key].sync_client  # scorers are sync; they run in a thread
        sync_class = next(c for c in cls.__mro__ if c.__module__.startswith("workbench.agents"))
        return to_async(sync_class.from_client(_sync_side(client), *args, **kwargs))


class Chain(AsyncWorkflow, _chain.Chain):
    """Async twin of :class:`workbench.agents.Chain` (resumes mid-way the same way)."""


class Router(AsyncWorkflow, _router.Router):
    """Async twin of :class:`workbench.agents.Router`."""


class Parallel(AsyncWorkflow, _parallel.Parallel):
    """Async twin of :class:`workbench.agents.Parallel`: a TaskGroup instead of a thread pool."""


class EvaluatorOptimizer(AsyncWorkflow, _evaluator.EvaluatorOptimizer):
    """Async twin of :class:`workbench.agents.EvaluatorOptimizer`."""


class PlanExecuteEvaluator(AsyncWorkflow, _plan.PlanExecuteEvaluator):
    """Async twin of :class:`workbench.agents.PlanExecuteEvaluator`; the Scorer runs in a thread."""


TWINS: dict[type, type] = {
    _agent.Agent: _aio_agents.Agent, _skills.SkillAgent: _aio_agents.SkillAgent,
    _orchestrator.OrchestratorAgent: _aio_agents.OrchestratorAgent,
    _chain.Chain: Chain, _router.Router: Router, _parallel.Parallel: Parallel,
    _evaluator.EvaluatorOptimizer: EvaluatorOptimizer, _plan.PlanExecuteEvaluator: PlanExecuteEvaluator,
}


def _sync_side(client):
    if isinstance(client, AsyncModelClient):
        return client.sync_client
    if isinstance(client, BaseModelClient):
        raise TypeError("workbench.aio workflows take an async client: aio.client(...) (it may wrap a sync one).")
    return client


def to_async(runner: Runner) -> Runner:
    """Turn a freshly built sync runner tree into its aio twins, in place.

    The twins add no fields, so switching ``__class__`` keeps every attribute and every
    reference between runners; each sync model client gets an async wrapper sharing its state.
    """
    for sub in runner.sub_runners():
        to_async(sub)
    twin = TWINS.get(type(runner))
    if twin is not None:
        runner.__class__ = twin
    client = getattr(runner, "model_client", None)
    if isinstance(client, BaseModelClient):
        runner.model_client = AsyncModelClient(client)
    return runner
