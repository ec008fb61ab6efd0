"""Memory search over 100,000 stored vectors (dimension 384), sqlite-vec against exact.

    python benchmarks/bench_memory.py [rows]

The vectors are random unit vectors (what all-MiniLM-L6-v2 gives has the same size and
norm); they are written through the store's own insert, in batches. Then 50 queries each
through the sqlite-vec index and through exact search (numpy over every stored vector,
kept in memory between queries): p50 and p95 of the search itself (the query's embedding
is not timed), the first exact query (which loads the vectors) separately, and whether the
two agree on the top 10. One all-MiniLM-L6-v2 query embedding is timed as well, if the
package is installed, for scale.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from workbench.memory import SemanticMemoryStore  # noqa: E402
from workbench.models.embeddings import Embedder  # noqa: E402

DIM = 384


class RandomEmbedder(Embedder):
    """Unit vectors from a seeded generator (a stand-in of the right shape; never a model)."""

    def __init__(self):
        super().__init__("bench:random-384")
        self.rng = np.random.default_rng(0)

    def _embed_batch(self, texts):
        v = self.rng.standard_normal((len(texts), DIM)).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).tolist()


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    embedder = RandomEmbedder()
    store = SemanticMemoryStore(work / "memory.db", embedder=embedder)
    start = time.perf_counter()
    for offset in range(0, rows, 5000):
        batch = [{"text": f"memory {i}", "tags": [], "meta": {}} for i in range(offset, min(rows, offset + 5000))]
        store._insert(batch, embedder.embed([b["text"] for b in batch]))
    print(f"stored {rows:,} vectors of dimension {DIM} in {time.perf_counter() - start:.1f} s (index: {store.index})")
    exact = SemanticMemoryStore(work / "memory.db", embedder=embedder, index="exact")
    queries = embedder.embed([f"query {i}" for i in range(50)])
    t = time.perf_counter()
    exact._nearest(queries[0], 10)
    first = time.perf_counter() - t
    timings = {"sqlite-vec": [], "exact": []}
    agree = 0
    for q in queries:
        t = time.perf_counter()
        a = store._nearest(q, 10)
        timings["sqlite-vec"].append(time.perf_counter() - t)
        t = time.perf_counter()
        b = exact._nearest(q, 10)
        timings["exact"].append(time.perf_counter() - t)
        agree += [h.id for h in a] == [h.id for h in b]
    for name, values in timings.items():
        print(f"  {name:10s} k=10: p50 {percentile(values, 0.5) * 1000:7.2f} ms, p95 {percentile(values, 0.95) * 1000:7.2f} ms, "
              f"mean {statistics.fmean(values) * 1000:7.2f} ms")
    print(f"  exact's first query (reads every vector into memory): {first * 1000:.0f} ms")
    print(f"  the same top 10 from both: {agree} of {len(queries)} queries")
    try:
        import workbench as wb

        minilm = wb.embedder("hf:all-MiniLM-L6-v2")
        minilm.embed_one("warm up")
        t = time.perf_counter()
        for _ in range(20):
            minilm.embed_one("what units does the user prefer?")
        print(f"  for scale: one all-MiniLM-L6-v2 query embedding on this CPU: {(time.perf_counter() - t) / 20 * 1000:.1f} ms")
    except Exception as exc:        # the package is optional
        print(f"  (all-MiniLM-L6-v2 not timed: {exc})")


if __name__ == "__main__":
    main()
