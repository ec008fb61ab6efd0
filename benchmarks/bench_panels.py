"""The benchmark panel's cost, measured in a real Jupyter kernel, side by side with no panel.

    python benchmarks/bench_panels.py [--rows 10000] [--repeats 2]

1. ``rows`` rows against the fake OpenAI server with no latency (as fast as it answers),
   once with the panel and once with ``panel=False``, alternating, in one kernel: the wall
   time of each (target: the panel adds <= 5%), the panel's comm messages per second
   (target <= 30) and bytes per row (target <= 200 plus a fixed overhead), and every row
   counted at the end.
2. Reopening the stored ``rows``-row run from SQLite (``%aimu run ID``): the time until its
   HTML (summary, matrix, errors) is on the display (target < 1 s), and until its plots are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SETUP = """import sys, time
sys.path.insert(0, {repo!r})
import workbench as wb
from workbench.testing import FakeOpenAIServer, Reply
from workbench.evals import Benchmark
from workbench.prompts import ExactMatchScorer
server = FakeOpenAIServer(default=Reply(text='1')).start()
client = wb.client('openai-compat:fake@' + server.base_url)
bench = Benchmark('Q: {{q}}', [{{'q': str(i), 'expected': str(i % 2)}} for i in range({rows})], ExactMatchScorer())
"""

RUN = """t0 = time.perf_counter()
results = bench.run({{'fake': client}}, store='runs.db', run_id={rid!r}, max_concurrency=32, panel={panel})
print(json.dumps({{'wall': time.perf_counter() - t0, 'rows': len(results.rows),
                  'stats': getattr(results, 'panel_stats', None)}}))
"""

REOPEN = """import time, json
import workbench.notebook.bench_render as render
t0 = time.perf_counter()
marks = {{}}
draw = render.plot_png
def timed_plot(results):
    marks['html'] = time.perf_counter() - t0      # the HTML is on the display before the plots are drawn
    return draw(results)
render.plot_png = timed_plot
get_ipython().run_line_magic('aimu', 'run {rid} runs.db')
render.plot_png = draw
marks['plots'] = time.perf_counter() - t0
print(json.dumps(marks))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO / "tests" / "notebook"))
    from nb_kernel_session import KernelSession

    work = Path(tempfile.mkdtemp(prefix="bench-panels-"))
    os.environ.pop("WORKBENCH_RUN_STORE", None)
    kernel = KernelSession(work)
    try:
        kernel.run(SETUP.format(repo=str(REPO), rows=args.rows) + "import json\n%load_ext workbench", timeout=120)
        walls: dict[bool, list[float]] = {True: [], False: []}
        panel_figures = []
        for repeat in range(args.repeats):
            for panel in (True, False) if repeat % 2 == 0 else (False, True):
                rid = f"r{repeat}-{'panel' if panel else 'plain'}"
                messages = kernel.run(RUN.format(rid=rid, panel=panel), timeout=1200)
                printed = [m["content"]["text"] for m in messages if m["msg_type"] == "stream"]
                out = json.loads([line for text in printed for line in text.splitlines() if line.startswith("{")][-1])
                assert out["rows"] == args.rows, out
                walls[panel].append(out["wall"])
                if panel:
                    comm = [m for m in messages if m["msg_type"] == "comm_msg"]
                    sent = sum(len(json.dumps(m["content"]["data"], separators=(",", ":"))) for m in comm)
                    panel_figures.append((out["wall"], len(comm), sent, out["stats"]))
        plain, with_panel = statistics.median(walls[False]), statistics.median(walls[True])
        print(f"1. {args.rows} rows, fake server with no latency, concurrency 32, one kernel "
              f"({args.repeats} runs each, medians)")
        print(f"   no panel    {plain:7.2f} s   ({args.rows / plain:,.0f} rows/s)")
        print(f"   with panel  {with_panel:7.2f} s   ({args.rows / with_panel:,.0f} rows/s)   "
              f"overhead {100 * (with_panel / plain - 1):+.1f}%  (target <= +5%)")
        for wall, count, sent, stats in panel_figures:
            print(f"   panel run: {count} comm messages in {wall:.2f} s = {count / wall:.1f}/s (target <= 30); "
                  f"{sent:,} bytes = {sent / args.rows:.0f} bytes/row (target <= 200); kernel counted {stats}")
        reopen = [m for m in kernel.run(REOPEN.format(rid="r0-panel"), timeout=120) if m["msg_type"] == "stream"]
        marks = json.loads([line for m in reopen for line in m["content"]["text"].splitlines()
                            if line.startswith("{")][-1])
        print(f"2. reopening the stored {args.rows}-row run (%aimu run ID): HTML on the display after "
              f"{marks['html']:.2f} s (target < 1 s), plots after {marks['plots']:.2f} s")
    finally:
        kernel.close()


if __name__ == "__main__":
    main()
