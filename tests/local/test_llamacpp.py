"""LlamaCppClient on the built-in workbench-tiny GGUF, for real (llama-cpp-python on CPU)."""

from __future__ import annotations

import threading

import pytest

import workbench as wb
from workbench.errors import ConfigurationError, ContextOverflowError, WeightsClearedError
from workbench.models.chunks import Phase
from workbench.models.local.scheduler import InferenceScheduler
from workbench.models.local.weights import CACHE
from workbench.models.spec import LlamaCppModel

MODEL = "llamacpp:workbench-tiny"
LONG = {"max_tokens": 400}           # the story outruns the catalog default of 96 tokens


def text_of(chunks, phase):
    return "".join(c.content for c in chunks if c.phase is phase)


def test_two_clients_share_the_model_not_the_context(tiny, expected):
    c1 = wb.client(MODEL)
    c2 = wb.client(LlamaCppModel.WORKBENCH_TINY)
    assert c1._llama_model is c2._llama_model
    c1.chat(expected["math"].prompt)
    c2.chat(expected["capital"].prompt)
    assert c1._context is not None and c2._context is not None and c1._context is not c2._context
    assert c1._context.ctx.model is c2._context.ctx.model


def test_chat_thinking_answer_and_stream(tiny, expected):
    prime = expected["prime"]         # tiny was trained on prime -> capital as a two-turn chat
    c = wb.client(MODEL)
    assert c.chat(prime.prompt) == prime.answer and c.last_thinking == prime.thinking
    chunks = list(c.chat(expected["capital"].prompt, stream=True))
    assert text_of(chunks, Phase.THINKING) == expected["capital"].thinking
    assert text_of(chunks, Phase.TEXT) == expected["capital"].answer
    done = chunks[-1].content
    assert done["finish_reason"] == "stop" and done["usage"]["input_tokens"] > 0
    assert [m["role"] for m in c.messages] == ["user", "assistant", "user", "assistant"]


def test_thinking_off(tiny, expected):
    c = wb.client(MODEL, thinking=False)
    assert c.chat(expected["math"].prompt) == expected["math"].answer and c.last_thinking == ""


def test_tool_call_round_trip(tiny, expected, weather_tool):
    c = wb.client(MODEL, tools=[weather_tool])
    chunks = list(c.chat(expected["weather_call"].prompt, stream=True))
    calls = [ch.content for ch in chunks if ch.phase is Phase.TOOL_CALL]
    assert [(k["name"], k["arguments"]) for k in calls] == [("get_weather", {"city": "Paris"})]
    assert weather_tool.calls == ["Paris"]
    assert text_of(chunks, Phase.TEXT) == expected["weather_answer"].answer


def test_same_greedy_answers_as_transformers(tiny, expected):
    hf, gg = wb.client("hf:workbench-tiny"), wb.client(MODEL)
    for name in ("math", "greeting", "prime"):
        assert gg.generate(expected[name].prompt) == hf.generate(expected[name].prompt) == expected[name].answer


def test_max_tokens_and_stop(tiny, expected):
    c = wb.client(MODEL, thinking=False)
    chunks = list(c.generate(expected["story"].prompt, generate_kwargs={"max_tokens": 4}, stream=True))
    assert chunks[-1].content["finish_reason"] == "length" and chunks[-1].content["usage"]["output_tokens"] == 4
    assert c.generate(expected["math"].prompt, generate_kwargs={"stop": "42"}) == "The answer is "


def test_garbage_gguf_surfaces_llama_cpp_reason(tmp_path):
    bad = tmp_path / "garbage.gguf"
    bad.write_bytes(b"this is not a gguf file" * 50)
    before = len(CACHE.entries())
    with pytest.raises(ConfigurationError, match="invalid magic"):
        wb.client(f"llamacpp:{bad}")
    assert len(CACHE.entries()) == before


def test_truncated_gguf_surfaces_llama_cpp_reason(tiny, tmp_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.gguf.read_bytes()[:4096])
    with pytest.raises(ConfigurationError, match="llama.cpp could not load") as info:
        wb.client(f"llamacpp:{cut}")
    assert "failed to load model" in str(info.value)


def test_missing_path_is_a_clear_error(tmp_path):
    before = len(CACHE.entries())
    with pytest.raises(ConfigurationError, match="no GGUF file"):
        wb.client(f"llamacpp:{tmp_path}/nope.gguf")
    assert len(CACHE.entries()) == before


def test_context_overflow_names_n_ctx(tiny, expected):
    c = wb.client(MODEL, n_ctx=32)
    with pytest.raises(ContextOverflowError, match="n_ctx=32") as info:
        c.chat(expected["attention"].prompt * 3)
    assert info.value.limit == 32
    assert len(c.messages) == 1


def test_keyboard_interrupt_mid_stream(tiny, expected):
    c = wb.client(MODEL)
    stream = c.chat(expected["story"].prompt, stream=True)
    with pytest.raises(KeyboardInterrupt):
        for chunk in stream:
            if chunk.phase is Phase.TEXT:
                raise KeyboardInterrupt
    stream.close()
    assert len(c.messages) == 1 and c.last_partial.text
    assert c.chat(expected["math"].prompt) == expected["math"].answer   # the context is reusable


def test_clear_while_streaming(tiny, expected, fresh_cache):
    story = expected["story"]
    c = wb.client(MODEL)
    stream = c.chat(story.prompt, stream=True, generate_kwargs=LONG)
    chunks = [next(stream) for _ in range(3)]
    assert wb.clear_llamacpp_cache(MODEL) > 0
    chunks += list(stream)                     # the model is closed only when the stream ends
    assert text_of(chunks, Phase.TEXT) == story.answer
    assert c.cache_entry.value is None
    with pytest.raises(WeightsClearedError):
        c.chat("Hi")
    c.reload()
    assert c.generate(expected["math"].prompt) == expected["math"].answer   # tiny knows no story->math chat


def test_scheduler_pool_reuses_contexts_across_clients(tiny, expected):
    sched = InferenceScheduler(max_concurrent=2)
    clients = [wb.client(MODEL, scheduler=sched) for _ in range(4)]
    names = ["math", "capital", "prime", "greeting"]
    results = {}

    def run(i):
        results[i] = clients[i].generate(expected[names[i]].prompt)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [results[i] for i in range(4)] == [expected[n].answer for n in names]
    (key,) = [k for k in sched._pools if sched.pool_size(k)]
    assert 1 <= sched.pool_size(key) <= 2          # at most N contexts ever made
    assert all(c._context is None for c in clients)  # pooled clients own none
    again = clients[0].generate(expected["math"].prompt)   # a reused (cleared) context
    assert again == expected["math"].answer and sched.active_count == 0


@pytest.mark.gpu
def test_gpu_offload(tiny, expected, fresh_cache):
    c = wb.client(MODEL, n_gpu_layers=-1)
    assert c.chat(expected["math"].prompt) == expected["math"].answer
    assert "gpu" in wb.cache_info()[0].bytes_by_device


def test_fork_shares_weights_with_its_own_context(tiny, expected):
    from workbench.agents.runner import fork_client

    c = wb.client(MODEL, system="You are terse.", thinking=False)
    twin = fork_client(c, "You are terse.")
    assert twin is not c and twin._llama_model is c._llama_model and twin.messages == c.messages
    assert twin.chat(expected["math"].prompt) == expected["math"].answer
    assert c.messages[1:] == [] and twin._context is not c._context


def test_seeded_sampling_repeats(tiny, expected):
    c = wb.client(MODEL)
    kw = {"temperature": 1.5, "top_p": 0.95, "seed": 7, "max_tokens": 30}
    assert c.generate(expected["story"].prompt, generate_kwargs=kw) == \
        c.generate(expected["story"].prompt, generate_kwargs=kw)


def test_close_from_another_thread_waits_for_the_running_turn(tiny, expected):
    story = expected["story"]
    c = wb.client(MODEL)
    started, done, chunks = threading.Event(), threading.Event(), []

    def turn():
        for chunk in c.chat(story.prompt, stream=True, generate_kwargs=LONG):
            chunks.append(chunk)
            started.set()
        done.set()

    worker = threading.Thread(target=turn)
    worker.start()
    assert started.wait(30)
    c.close()                                  # never frees the context under the decode
    assert done.is_set()                       # it returned only after the turn ended
    worker.join(30)
    assert text_of(chunks, Phase.TEXT) == story.answer and c._context is None
    assert c.generate(expected["math"].prompt) == expected["math"].answer   # a new context afterwards


def test_a_clear_drops_the_schedulers_pooled_contexts(tiny, expected, fresh_cache):
    sched = InferenceScheduler(max_concurrent=2)
    c = wb.client(MODEL, scheduler=sched)
    assert c.generate(expected["math"].prompt) == expected["math"].answer
    assert sched.stats()["pooled_contexts"] == 1
    (key,) = sched.pool_keys()
    assert isinstance(key[0], str)             # a uid, not id(weights): addresses are reused
    wb.clear_llamacpp_cache(MODEL)
    assert sched.stats()["pooled_contexts"] == 0 and sched.pool_keys() == []
    c.reload()
    assert c.generate(expected["math"].prompt) == expected["math"].answer


def test_an_abandoned_stream_holds_no_slot_lock_or_history(tiny, expected):
    sched = InferenceScheduler(max_concurrent=1)
    for c in (wb.client(MODEL), wb.client(MODEL, scheduler=sched)):
        stream = c.chat(expected["story"].prompt, stream=True, generate_kwargs=LONG)
        next(stream)
        del stream                               # dropped without close(): the next turn runs
        assert c.chat(expected["math"].prompt, generate_kwargs={"max_tokens": 40}) is not None
        assert not c._context_lock.locked() and sched.active_count == 0
