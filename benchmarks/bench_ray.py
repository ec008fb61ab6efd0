"""The Ray executor on workbench-tiny: rows/s with 1 and 2 actors, beside the in-process engine.

    python benchmarks/bench_ray.py [--rows 96]

A local cluster (``ray.init(num_cpus=2)``). Each actor loads the model once; the driver
scores and stores. Figures: rows per second for each, and the executor's overhead (the
one-actor run against the in-process run at concurrency 1).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=96)
    args = parser.parse_args()

    import ray

    import workbench as wb
    from workbench.evals import Benchmark
    from workbench.builtin.tiny import ensure_tiny
    from workbench.builtin.tiny_corpus import EXPECTED
    from workbench.prompts import ExactMatchScorer

    ensure_tiny()
    names = ("math", "capital", "prime", "greeting")
    data = [{"q": EXPECTED[names[i % 4]].prompt, "expected": EXPECTED[names[i % 4]].answer} for i in range(args.rows)]
    bench = Benchmark("{q}", data, ExactMatchScorer())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        figures = {}
        local = wb.client("hf:workbench-tiny")
        bench.run({"tiny": local}, max_concurrency=1)                          # warm the weights
        for label, kwargs in (("in-process, concurrency 1", {"max_concurrency": 1}),
                              ("in-process, concurrency 2", {"max_concurrency": 2}),
                              ("ray, 1 actor", {"executor": "ray", "ray_actors": 1, "max_concurrency": 2}),
                              ("ray, 2 actors", {"executor": "ray", "ray_actors": 2, "max_concurrency": 4})):
            client = local if "executor" not in kwargs else "hf:workbench-tiny"
            start = time.perf_counter()
            results = bench.run({"tiny": client}, **kwargs)
            elapsed = time.perf_counter() - start
            figures[label] = args.rows / elapsed
            m = results.metrics["tiny"]
            print(f"{label:28} {figures[label]:7.1f} rows/s  ({elapsed:.2f} s incl. actor start-up; "
                  f"score {m['mean_score']:.2f}, {m['errors']} errors)")
        print(f"ray 2 actors / 1 actor: {figures['ray, 2 actors'] / figures['ray, 1 actor']:.2f}x; "
              f"ray 1 actor / in-process (concurrency 1): "
              f"{figures['ray, 1 actor'] / figures['in-process, concurrency 1']:.2f}x")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
