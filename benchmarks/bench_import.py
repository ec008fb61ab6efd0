"""Whole-process cost of ``import workbench`` versus ``python -c pass``, and what it imports.

    python benchmarks/bench_import.py [runs]

Target (issue 2): import time within 1.5x of ``python -c pass`` plus 50 ms, and no SDK,
torch or Jupyter module imported. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

HEAVY = ("openai", "anthropic", "ollama", "httpx", "torch", "transformers", "llama_cpp", "diffusers",
         "IPython", "ipywidgets", "anywidget", "ipykernel", "jupyter_client", "fastmcp", "mcp", "pandas",
         "numpy", "pydantic")


def wall(code: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return times


def main(runs: int = 21) -> None:
    wall("pass", 3)   # warm the page cache
    baseline, ours = [], []
    for _ in range(runs):   # interleaved so drift hits both
        baseline += wall("pass", 1)
        ours += wall("import workbench", 1)
    base_ms, ours_ms = statistics.median(baseline) * 1e3, statistics.median(ours) * 1e3
    budget_ms = 1.5 * base_ms + 50
    print(f"python -c pass          median {base_ms:7.1f} ms  (n={runs})")
    print(f"python -c 'import workbench' median {ours_ms:7.1f} ms")
    print(f"ratio {ours_ms / base_ms:.2f}x; budget 1.5x + 50 ms = {budget_ms:.1f} ms -> "
          f"{'within' if ours_ms <= budget_ms else 'OVER'} target")
    probe = ("import sys, workbench; heavy = %r; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))" % (HEAVY,))
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    print(f"heavy modules imported by 'import workbench': {loaded}")
    probe_testing = probe.replace("import sys, workbench", "import sys, workbench, workbench.testing, "
                                  "workbench.models.wire.openai_chat, workbench.models.providers.openai_compat")
    loaded = subprocess.run([sys.executable, "-c", probe_testing], check=True, capture_output=True,
                            text=True).stdout.strip()
    print(f"... also after importing the provider modules (SDKs load on first call only): {loaded}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
