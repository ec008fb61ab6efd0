"""The status-bar gauge's cost: the same ``%%aimu`` cell on the in-process tiny model, in a
real Jupyter kernel, without and with the JupyterLab extension's comm open (the frontend's
comm_open, exactly as the extension sends it), interleaved round by round.

    python benchmarks/bench_status_item.py [--rounds 15]

Prints the median wall time of the cell (request to idle, measured by the client) in each
case, the difference, and the gauge messages the cells caused (a turn on a model already
loaded sends none: the gauge speaks only when the weight cache changes).
Target: no measurable difference (within the run-to-run spread).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "notebook"))

from nb_kernel_session import KernelSession  # noqa: E402

CELL = "%%aimu hf:workbench-tiny --max-tokens 8\nWhat is 17+25?"


def timed(kernel: KernelSession) -> tuple[float, int]:
    start = time.perf_counter()
    messages = kernel.run(CELL, cell_id="bench")
    wall = time.perf_counter() - start
    gauge = sum(1 for m in messages if m["msg_type"] == "comm_msg" and m["content"]["data"].get("type") == "gauge")
    return wall, gauge


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    plain = KernelSession(Path(tempfile.mkdtemp()))
    linked = KernelSession(Path(tempfile.mkdtemp()))
    try:
        for kernel in (plain, linked):
            kernel.run("%load_ext workbench")
            kernel.run(CELL)                               # load the weights once
        comm_id = uuid.uuid4().hex
        linked.send("comm_open", {"comm_id": comm_id, "target_name": "aimu-workbench", "data": {"type": "hello"}})
        linked.iopub(timeout=2)
        without, with_item, gauge_messages = [], [], 0
        for _ in range(args.rounds):
            without.append(timed(plain)[0])
            wall, sent = timed(linked)
            with_item.append(wall)
            gauge_messages += sent
        a, b = statistics.median(without), statistics.median(with_item)
        spread = statistics.pstdev(without)
        print(f"%%aimu cell on hf:workbench-tiny, {args.rounds} rounds each, interleaved")
        print(f"  without the extension's comm : median {a * 1000:7.1f} ms (spread {spread * 1000:.1f} ms)")
        print(f"  with the status-bar comm open: median {b * 1000:7.1f} ms")
        print(f"  difference                   : {(b - a) * 1000:+7.1f} ms ({(b / a - 1) * 100:+.1f}%)")
        print(f"  gauge messages sent by the cells: {gauge_messages}")
    finally:
        plain.close()
        linked.close()


if __name__ == "__main__":
    main()
