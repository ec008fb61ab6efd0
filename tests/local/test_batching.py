"""Transformers batching through the scheduler: one generate call, outputs equal to unbatched."""

from __future__ import annotations

import threading

import pytest

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


# -- the greedy decode loop: finished rows leave the batch -----------------------------------
def _requests(names, expected, max_new_tokens=400, **kwargs):
    from workbench.models.local.hf_generate import GenRequest

    weights = wb.client("hf:workbench-tiny")._weights
    tok = weights.tokenizer
    reqs = []
    for name in names:
        text = tok.apply_chat_template([{"role": "user", "content": expected[name].prompt}],
                                       add_generation_prompt=True, tokenize=False)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        reqs.append(GenRequest(input_ids=ids, max_new_tokens=max_new_tokens, eos_ids=weights.eos_ids, **kwargs))
    return weights, reqs


def _drain(request):
    return [t for burst in request.tokens() for t in burst]


def test_rows_of_very_different_lengths_leave_the_batch_and_match_unbatched(tiny, expected, monkeypatch):
    import torch

    from workbench.models.local import hf_decode
    from workbench.models.local.hf_generate import run_batch

    names = ["story", "greeting", "math", "attention", "capital"]     # ~70 tokens among ~15-45
    weights, batch = _requests(names, expected)
    sizes = []
    monkeypatch.setattr(hf_decode, "step_hook", sizes.append)
    run_batch(weights, batch)
    batched = [_drain(r) for r in batch]
    assert all(r.finish_reason == "stop" for r in batch)
    counts = [len(t) for t in batched]
    assert max(counts) > 2 * min(counts)                      # really different lengths
    # the live batch shrinks as rows end: it starts full, never grows, ends with the longest row alone
    assert sizes[0] == len(names) and sizes[-1] == 1
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    assert len(sizes) == max(counts) + 1                      # prefill + one step per token of the longest row
    assert sum(sizes) < len(names) * len(sizes)               # fewer row-steps than a full batch to the end
    # row by row, the tokens are those of HF generate run on that prompt alone (no padding)
    model = weights.model
    for request, tokens in zip(batch, batched):
        ids = torch.tensor([request.input_ids])
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=request.max_new_tokens, eos_token_id=sorted(weights.eos_ids),
                                 pad_token_id=weights.pad_id, temperature=None, top_p=None, top_k=None)
        reference = out[0, ids.shape[1]:].tolist()
        while reference and reference[-1] in weights.eos_ids | {weights.pad_id}:
            reference.pop()
        assert tokens == reference


def test_greedy_rows_end_at_their_own_limit_and_on_cancel(tiny, expected, monkeypatch):
    from workbench.models.local import hf_decode
    from workbench.models.local.hf_generate import run_batch

    weights, batch = _requests(["story", "story", "story"], expected)
    batch[0].max_new_tokens = 3
    batch[1].max_new_tokens = 9
    batch[2].stop_event.set()                                 # its caller left before the batch ran
    sizes = []
    monkeypatch.setattr(hf_decode, "step_hook", sizes.append)
    run_batch(weights, batch)
    assert [r.count for r in batch] == [3, 9, 0]
    assert [r.finish_reason for r in batch] == ["length", "length", "cancelled"]
    assert sizes == [2, 2, 2] + [1] * 6


def test_sampling_batches_keep_generate(tiny, expected, monkeypatch):
    from workbench.models.local import hf_decode
    from workbench.models.local.hf_generate import run_batch

    weights, batch = _requests(["greeting", "math"], expected, max_new_tokens=8, do_sample=True, temperature=0.7)
    sizes = []
    monkeypatch.setattr(hf_decode, "step_hook", sizes.append)
    run_batch(weights, batch)
    assert sizes == []                                        # the decode loop did not run
    assert all(r.done and r._error is None and 0 < r.count <= 8 for r in batch)


# -- engines: the cache argument's two spellings, and no silent slow path --------------------
def test_forward_spec_reads_either_spelling_of_the_cache_argument(tiny):
    import inspect

    import torch

    from workbench.models.local.hf_decode import forward_spec

    class Before(torch.nn.Module):        # transformers < 5.24
        def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                    use_cache=None, logits_to_keep=0):
            return None

    class After(torch.nn.Module):         # transformers >= 5.24
        def forward(self, input_ids=None, attention_mask=None, position_ids=None, cache=None,
                    use_cache=None, logits_to_keep=0):
            return None

    class NoMask(torch.nn.Module):
        def forward(self, input_ids=None, past_key_values=None):
            return None

    assert forward_spec(Before()).cache_arg == "past_key_values" and not forward_spec(Before()).missing
    assert forward_spec(After()).cache_arg == "cache" and forward_spec(After()).logits_to_keep
    assert forward_spec(NoMask()).missing == ("attention_mask", "position_ids")
    # and the installed transformers' own model takes the loop, whichever spelling it uses
    model = wb.client("hf:workbench-tiny")._weights.model
    assert forward_spec(model).cache_arg in inspect.signature(model.forward).parameters
    assert forward_spec(model).missing == ()


def test_the_greedy_loop_runs_and_says_so(tiny, expected):
    sched = InferenceScheduler(max_concurrent=2)
    c = wb.client("hf:workbench-tiny", scheduler=sched)
    assert c.generate(expected["math"].prompt) == expected["math"].answer
    assert c.last_engine == "greedy-loop"
    assert sched.stats()["engines"] == {"greedy-loop": 1}


def test_a_model_that_cannot_take_the_loop_warns_once_and_reports_generate(tiny, expected, monkeypatch):
    import warnings

    from workbench.errors import SlowPathWarning
    from workbench.models.local import hf_generate

    monkeypatch.setattr(hf_generate, "_warned", set())
    sched = InferenceScheduler(max_concurrent=2)
    c = wb.client("hf:workbench-tiny", scheduler=sched)
    # a generation config the loop does not reproduce (a logits processor): generate() runs
    monkeypatch.setattr(c._weights.model.generation_config, "repetition_penalty", 1.3)
    with pytest.warns(SlowPathWarning, match=r"repetition_penalty=1\.3"):
        c.generate(expected["math"].prompt)
    assert c.last_engine == "generate" and sched.stats()["engines"] == {"generate": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowPathWarning)          # once per model and reason
        c.generate(expected["greeting"].prompt)
    solo = wb.client("hf:workbench-tiny")
    solo.generate(expected["math"].prompt)
    assert solo.last_engine == "generate"


def test_seeded_requests_warn_that_they_run_alone(tiny, expected, monkeypatch):
    from workbench.errors import SlowPathWarning
    from workbench.models.local import hf_generate

    monkeypatch.setattr(hf_generate, "_warned", set())
    sched = InferenceScheduler(max_concurrent=2)
    c = wb.client("hf:workbench-tiny", scheduler=sched)
    with pytest.warns(SlowPathWarning, match="runs alone, not batched, because it is seeded"):
        c.generate(expected["math"].prompt, generate_kwargs={"seed": 3, "temperature": 0.7})
    assert sched.stats()["rows_alone"] == {"it is seeded": 1}


def test_a_waiting_caller_is_woken_by_its_tokens_not_a_timer(tiny, expected):
    # tokens() blocks on the request's own event: a consumer that does not stream wakes once
    _, (request,) = _requests(["math"], expected)
    wakes = []
    real_wait = request._ready.wait

    def counting_wait(timeout=None):
        wakes.append(timeout)
        return real_wait(timeout)

    request._ready.wait = counting_wait
    from workbench.models.local.hf_generate import start_direct

    start_direct(wb.client("hf:workbench-tiny")._weights, request)
    tokens = [t for burst in request.tokens(bursts=False) for t in burst]
    assert len(tokens) == request.count > 5
    assert wakes == [None]                                       # one untimed wait: no polling
