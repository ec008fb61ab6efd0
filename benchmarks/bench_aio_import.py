"""Import time of ``workbench.aio`` vs ``workbench`` (target: within 1.5x).

Each figure is a fresh interpreter (``python -c "import ..."``), interleaved, median of N,
minus nothing: the ratio compares whole processes. Also checks that importing
``workbench.aio`` loads no SDK, torch or fastmcp.

    python benchmarks/bench_aio_import.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

HEAVY = ("openai", "anthropic", "ollama", "torch", "transformers", "llama_cpp", "fastmcp", "IPython",
         "ipywidgets", "anywidget", "pandas")


def run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main(n: int = 21) -> None:
    cases = {"python -c pass": "pass", "import workbench": "import workbench",
             "import workbench.aio": "import workbench.aio",
             "from workbench import aio; aio.client": "from workbench import aio; aio.client"}
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(n):  # interleaved, so drift in machine load hits every case alike
        for label, code in cases.items():
            times[label].append(run(code))
    med = {k: statistics.median(v) for k, v in times.items()}
    for label, value in med.items():
        print(f"{label:42s} median {value * 1000:7.1f} ms  (min {min(times[label]) * 1000:.1f})")
    base = med["python -c pass"]
    wb, aio = med["import workbench"], med["import workbench.aio"]
    print(f"import workbench.aio / import workbench (whole process): {aio / wb:.3f}x  (target <= 1.5x)")
    print(f"  above bare interpreter: workbench {1000 * (wb - base):.1f} ms, workbench.aio {1000 * (aio - base):.1f} ms")
    probe = ("import sys, workbench.aio as a; a.client; "
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy modules after 'import workbench.aio; aio.client': {loaded}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
