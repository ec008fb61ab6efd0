"""The experiment engine: benchmarks over data sets, a run store that outlives the kernel.

    from workbench.evals import Benchmark, BenchmarkResults, list_runs
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "Benchmark": "workbench.evals.benchmark:Benchmark",
    "BenchmarkResults": "workbench.evals.results:BenchmarkResults",
    "DeepEvalModel": "workbench.evals.deepeval_adapters:DeepEvalModel",      # the deepeval extra
    "DeepEvalScorer": "workbench.evals.deepeval_adapters:DeepEvalScorer",
    "RunStore": "workbench.evals.store:RunStore",
    "list_runs": "workbench.evals.store:list_runs",
    "open_run": "workbench.evals.results:open_run",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
__all__ = sorted(_LAZY)
