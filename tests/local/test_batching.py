"""Transformers batching through the scheduler: one generate call, outputs equal to unbatched."""

from __future__ import annotations

import threading

import workbench as wb
from workbench.models.chunks import Phase
from workbench.models.local.scheduler import InferenceScheduler

LONG = {"max_tokens": 400}           # the story outruns the catalog default of 96 tokens
NAMES = ["math", "greeting", "capital", "prime", "attention", "story", "weather_no_tool", "add_no_tool"]


def run_concurrently(clients, prompts, **kwargs):
    results = [None] * len(prompts)
    start = threading.Barrier(len(prompts))

    def go(i):
        start.wait(30)
        results[i] = list(clients[i].generate(prompts[i], stream=True, **kwargs))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_batched_outputs_equal_unbatched(tiny, expected):
    prompts = [expected[n].prompt for n in NAMES]
    solo = wb.client("hf:workbench-tiny")
    reference = [solo.generate(p, generate_kwargs=LONG) for p in prompts]
    sched = InferenceScheduler(max_concurrent=8, batch_window_s=0.2)
    clients = [wb.client("hf:workbench-tiny", scheduler=sched) for _ in prompts]
    streams = run_concurrently(clients, prompts, generate_kwargs=LONG)
    answers = ["".join(c.content for c in s if c.phase is Phase.TEXT) for s in streams]
    assert answers == reference
    assert answers[0] == expected["math"].answer
    assert sched.max_batch_seen > 1                      # they really shared generate calls
    assert sched.batches_run < len(prompts)
    # each row stopped at its own end of turn: output token counts differ per request
    counts = [s[-1].content["usage"]["output_tokens"] for s in streams]
    assert len(set(counts)) > 1 and all(s[-1].content["finish_reason"] == "stop" for s in streams)


def test_per_request_max_tokens_in_one_batch(tiny, expected):
    sched = InferenceScheduler(max_concurrent=2, batch_window_s=0.2)
    clients = [wb.client("hf:workbench-tiny", scheduler=sched) for _ in range(2)]
    story = expected["story"].prompt
    results = [None, None]
    barrier = threading.Barrier(2)

    def go(i, n):
        barrier.wait(30)
        results[i] = list(clients[i].generate(story, stream=True, generate_kwargs={"max_tokens": n}))

    threads = [threading.Thread(target=go, args=(0, 3)), threading.Thread(target=go, args=(1, 9))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r[-1].content["usage"]["output_tokens"] for r in results] == [3, 9]
    assert [r[-1].content["finish_reason"] for r in results] == ["length", "length"]
    assert sched.max_batch_seen == 2


def test_max_concurrent_one_runs_one_request_per_generate(tiny, expected):
    sched = InferenceScheduler(max_concurrent=1)
    prompts = [expected[n].prompt for n in NAMES[:4]]
    clients = [wb.client("hf:workbench-tiny", scheduler=sched) for _ in prompts]
    streams = run_concurrently(clients, prompts)
    assert sched.max_batch_seen == 1 and sched.batches_run == 4
    assert "".join(c.content for c in streams[0] if c.phase is Phase.TEXT) == expected["math"].answer


def test_cancelling_one_row_leaves_the_others(tiny, expected):
    sched = InferenceScheduler(max_concurrent=2, batch_window_s=0.2)
    a, b = (wb.client("hf:workbench-tiny", scheduler=sched) for _ in range(2))
    story = expected["story"]
    result = {}
    barrier = threading.Barrier(2)

    def stop_early():
        barrier.wait(30)
        stream = a.generate(story.prompt, stream=True)
        for chunk in stream:
            if chunk.phase is Phase.TEXT:
                break
        stream.close()
        result["a"] = True

    def full():
        barrier.wait(30)
        result["b"] = b.generate(story.prompt, generate_kwargs=LONG)

    threads = [threading.Thread(target=stop_early), threading.Thread(target=full)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert result == {"a": True, "b": story.answer}
