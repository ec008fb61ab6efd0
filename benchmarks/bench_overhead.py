"""Overhead of ``c.chat()`` over the bare SDK, against the same fake server, side by side.

    python benchmarks/bench_overhead.py [iterations]

For OpenAI and Anthropic, streaming and not: each iteration times one bare-SDK request
and one ``c.chat()`` (order alternating, so drift and warm-up hit both), the same
prompt and the same scripted reply. The fake servers run in their own processes
(``python -m workbench.testing``) so they do not share the client's GIL. Target (issue 2):
ratio <= 1.10. Prints figures only.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import time

import workbench as wb

ANSWER = " ".join(f"token{i}" for i in range(60))   # 60 deltas when streamed
PROMPT = "Say sixty tokens."


@contextlib.contextmanager
def served(protocol: str):
    proc = subprocess.Popen([sys.executable, "-m", "workbench.testing", protocol, "--text", ANSWER],
                            stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bare_openai(base_url):
    import openai

    sdk = openai.OpenAI(api_key="k", base_url=base_url, max_retries=0)

    def call(stream: bool) -> str:
        kwargs = {"model": "fake-model", "messages": [{"role": "user", "content": PROMPT}]}
        if not stream:
            return sdk.chat.completions.create(**kwargs).choices[0].message.content
        parts = []
        for event in sdk.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs):
            if event.choices and event.choices[0].delta.content:
                parts.append(event.choices[0].delta.content)
        return "".join(parts)
    return call


def bare_anthropic(base_url):
    import anthropic

    sdk = anthropic.Anthropic(api_key="k", base_url=base_url, max_retries=0)

    def call(stream: bool) -> str:
        kwargs = {"model": "claude-sonnet-4-6", "max_tokens": 4096,
                  "messages": [{"role": "user", "content": PROMPT}]}
        if not stream:
            return sdk.messages.create(**kwargs).content[0].text
        parts = []
        for event in sdk.messages.create(stream=True, **kwargs):
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)
        return "".join(parts)
    return call


def ours(client):
    def call(stream: bool) -> str:
        client.reset()   # same request size every time
        if not stream:
            return client.chat(PROMPT)
        return "".join(ch.content for ch in client.chat(PROMPT, stream=True) if ch.is_text())
    return call


def measure(name: str, bare, mine, iterations: int) -> None:
    for stream in (False, True):
        for _ in range(20):   # warm-up: connections, imports, pydantic model builds
            assert bare(stream) == ANSWER and mine(stream) == ANSWER
        t_bare, t_ours = [], []
        for i in range(iterations):
            pair = ((bare, t_bare), (mine, t_ours)) if i % 2 == 0 else ((mine, t_ours), (bare, t_bare))
            for fn, sink in pair:
                start = time.perf_counter()
                fn(stream)
                sink.append(time.perf_counter() - start)
        b, o = statistics.median(t_bare) * 1e3, statistics.median(t_ours) * 1e3
        mb, mo = statistics.mean(t_bare) * 1e3, statistics.mean(t_ours) * 1e3
        mode = "stream " if stream else "json   "
        print(f"{name:9s} {mode} bare SDK median {b:6.3f} ms  c.chat() median {o:6.3f} ms  "
              f"ratio {o / b:.3f}  (means {mb:.3f} / {mo:.3f} ms, ratio {mo / mb:.3f}, n={iterations})")


def main(iterations: int = 300) -> None:
    with served("openai") as oa, served("anthropic") as an:
        measure("openai", bare_openai(oa), ours(wb.client("openai:gpt-4.1", api_key="k", base_url=oa)), iterations)
        measure("anthropic", bare_anthropic(an),
                ours(wb.client("anthropic:claude-sonnet-4-6", api_key="k", base_url=an)), iterations)
    print("target: ratio <= 1.10")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
