"""The call log's cost and its search, printed side by side with the log off.

    python benchmarks/bench_calllog.py [iterations]

1. ``c.chat()`` against the fake OpenAI server (its own process, so no shared GIL), the log
   off and on, alternating per iteration so drift hits both: median and mean per call, and
   the ratio (target: on <= 1.03x off). The history is reset every 20 turns, so the
   messages logged stay the size a notebook conversation has.
2. FTS search over 100,000 logged calls (written through the log's own writer): p50 and
   p95 latency of ``search("word")`` for a rare word, a common word, and a prefix.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import workbench as wb  # noqa: E402
from workbench.log import runtime  # noqa: E402
from workbench.log.store import CallLog  # noqa: E402

WORDS = ("octopus anemone crab kelp tide pool rock shell urchin starfish barnacle limpet mussel wave "
         "salt sand gull heron current reef coral").split()


def chat_overhead(iterations: int, work: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "workbench.testing", "openai", "--text",
                             "An answer of about twenty words that a notebook user might get back from a model."],
                            stdout=subprocess.PIPE, text=True)
    base_url = proc.stdout.readline().strip()
    try:
        client = wb.client(f"openai-compat:fake@{base_url}")
        log = CallLog(work / "overhead.db")
        for _ in range(20):                      # warm the connection and the imports
            client.chat("warm up")
        client.reset()
        off, on = [], []
        for i in range(iterations):
            if i % 20 == 0:
                client.reset()
            for state in ((False, True) if i % 2 else (True, False)):
                runtime.set_active(log if state else None)
                start = time.perf_counter()
                client.chat(f"Question {i}: what lives in a tide pool?")
                (on if state else off).append(time.perf_counter() - start)
        runtime.set_active(None)
        log.close()
        med_off, med_on = statistics.median(off) * 1000, statistics.median(on) * 1000
        mean_off, mean_on = statistics.fmean(off) * 1000, statistics.fmean(on) * 1000
        print(f"c.chat() x{iterations} each: log off median {med_off:.3f} ms (mean {mean_off:.3f}), "
              f"log on median {med_on:.3f} ms (mean {mean_on:.3f}); ratio {med_on / med_off:.3f} median, "
              f"{mean_on / mean_off:.3f} mean (target <= 1.03)")
    finally:
        proc.terminate()
        proc.wait(10)


def fts_search(rows: int, work: Path) -> None:
    rng = random.Random(0)
    log = CallLog(work / "fts.db")
    start = time.perf_counter()
    for i in range(rows):
        prompt = " ".join(rng.choice(WORDS) for _ in range(12)) + (" zanzibar" if i % 5000 == 0 else "")
        log.submit({"started_at": time.time(), "duration_s": 0.1, "kind": "chat", "model": "hf:workbench-tiny",
                    "messages": [{"role": "user", "content": prompt}], "answer": " ".join(rng.choice(WORDS)
                                                                                        for _ in range(30)),
                    "thinking": "", "tags": {}, "options": {}, "tool_calls": []})
    log.flush(600)
    written = time.perf_counter() - start
    print(f"wrote {rows:,} calls through the log's writer in {written:.1f} s ({rows / written:,.0f} calls/s)")
    for label, query in (("a rare word (20 hits)", "zanzibar"), ("a common word", "octopus"), ("a prefix", "barn*"),
                         ("two words", "coral heron")):
        times = []
        for _ in range(30):
            t = time.perf_counter()
            hits = log.search(query, 50)
            times.append(time.perf_counter() - t)
        times.sort()
        print(f"  search {label:22s} {len(hits):3d} hits: p50 {times[len(times) // 2] * 1000:7.2f} ms, "
              f"p95 {times[int(len(times) * 0.95)] * 1000:7.2f} ms")
    log.close()


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    work = Path(tempfile.mkdtemp(prefix="bench-calllog-"))
    chat_overhead(iterations, work)
    fts_search(100_000, work)


if __name__ == "__main__":
    main()
