"""The stream view's cost: the same 4,000-token streamed call, printed to stdout vs shown
in the stream view, in a real Jupyter kernel against the fake OpenAI server.

    python benchmarks/bench_stream_view.py [--tokens 4000] [--rounds 5]

Prints the median wall time of each (measured in the kernel, from the request to the end
of the stream), the overhead of the view, its comm messages per second and bytes sent.
Target: overhead <= 10%, <= 30 messages/s, bytes <= 2x the text + a fixed overhead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "notebook"))

from nb_kernel_session import KernelSession, stream_text  # noqa: E402

SETUP = """
import time, workbench as wb
from workbench.testing import FakeOpenAIServer, Reply
TEXT = ' '.join(f'w{{i}}' for i in range({tokens}))
server = FakeOpenAIServer(default=Reply(text=TEXT)).start()
client = wb.client('openai-compat:bench@' + server.base_url)
"""

PRINT = """
client.reset(); t = time.perf_counter()
for chunk in client.chat('Count.', stream=True):
    if chunk.phase == 'text':
        print(chunk.content, end='', flush=False)
print()
print('ELAPSED', time.perf_counter() - t)
"""

VIEW = """
client.reset(); t = time.perf_counter()
_r = wb.show(client.chat('Count.', stream=True), checkpoint=False)
print('ELAPSED', time.perf_counter() - t)
"""


def elapsed(messages) -> float:
    for line in stream_text(messages).splitlines():
        if line.startswith("ELAPSED"):
            return float(line.split()[1])
    raise RuntimeError("no timing in the output")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    kernel = KernelSession(Path(tempfile.mkdtemp()))
    try:
        kernel.run(SETUP.format(tokens=args.tokens))
        kernel.run(PRINT)
        kernel.run(VIEW)                       # warm both paths
        printed, shown, rates, sizes = [], [], [], []
        text_bytes = None
        for _ in range(args.rounds):
            printed.append(elapsed(kernel.run(PRINT)))
            messages = kernel.run(VIEW)
            shown.append(elapsed(messages))
            custom = [m for m in messages if m["msg_type"] == "comm_msg"
                      and m["content"]["data"].get("method") == "custom"]
            updates = [m for m in messages if m["msg_type"] == "comm_msg"
                       and m["content"]["data"].get("method") == "update"]
            span = (custom[-1]["header"]["date"] - custom[0]["header"]["date"]).total_seconds()
            rates.append((len(custom) - 1) / span if span > 0 else 0.0)
            sizes.append(sum(len(json.dumps(m["content"]["data"], ensure_ascii=False)) for m in custom + updates))
            if text_bytes is None:
                final = updates[-1]["content"]["data"]["state"]["state"]
                text_bytes = len(final["lanes"][0]["text"])
        p, s = statistics.median(printed), statistics.median(shown)
        print(f"{args.tokens} tokens, {args.rounds} rounds (median), in a real kernel:")
        print(f"  printed to stdout : {p * 1000:8.1f} ms")
        print(f"  stream view       : {s * 1000:8.1f} ms   overhead {100 * (s - p) / p:+.1f}% (target <= 10%)")
        print(f"  comm messages/s   : {statistics.median(rates):8.1f}      (target <= 30)")
        print(f"  comm bytes        : {statistics.median(sizes):8.0f}      for {text_bytes} bytes of text "
              f"({statistics.median(sizes) / text_bytes:.2f}x; appends + final state)")
    finally:
        kernel.close()


if __name__ == "__main__":
    main()
