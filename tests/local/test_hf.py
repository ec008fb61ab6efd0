"""HuggingFaceClient on the built-in workbench-tiny, for real (transformers on CPU)."""

from __future__ import annotations

import threading

import pytest

import workbench as wb
from workbench.errors import ConfigurationError, ContextOverflowError, WeightsClearedError
from workbench.models.chunks import Phase
from workbench.models.local.weights import CACHE
from workbench.models.spec import HuggingFaceModel

MODEL = "hf:workbench-tiny"
LONG = {"max_tokens": 400}           # the story outruns the catalog default of 96 tokens


def text_of(chunks, phase):
    return "".join(c.content for c in chunks if c.phase is phase)


def test_two_clients_share_weights(tiny):
    c1 = wb.client(MODEL)
    c2 = wb.client(HuggingFaceModel.WORKBENCH_TINY)
    assert c1._hf_model is c2._hf_model and c1._hf_tokenizer is c2._hf_tokenizer
    assert c1.cache_entry is c2.cache_entry


def test_load_kwargs_make_separate_entries(tiny, fresh_cache):
    a = wb.client(MODEL)
    b = wb.client(MODEL, dtype="bfloat16")
    c = wb.client(MODEL, dtype="bf16")
    assert a._hf_model is not b._hf_model and b._hf_model is c._hf_model
    info = wb.cache_info()
    assert sorted(e.kwargs.get("dtype", "-") for e in info) == ["-", "bfloat16"]
    bf16 = next(e for e in info if e.kwargs.get("dtype") == "bfloat16")
    full = next(e for e in info if "dtype" not in e.kwargs)
    assert bf16.provider == "hf" and bf16.model == "workbench-tiny" and bf16.hits == 1
    assert set(bf16.bytes_by_device) == {"cpu"} and 0 < bf16.bytes < full.bytes   # half the bytes
    assert bf16.bytes * 2 == pytest.approx(full.bytes, rel=0.05)


def test_chat_thinking_and_answer(tiny, expected):
    math = expected["math"]
    c = wb.client(MODEL)
    answer = c.chat(math.prompt)
    assert answer == math.answer
    assert c.last_thinking == math.thinking
    assert c.messages[-1] == {"role": "assistant", "content": math.answer, "thinking": math.thinking}
    assert c.last_finish_reason == "stop" and c.last_usage["output_tokens"] > 0


def test_stream_phases_and_done_chunk(tiny, expected):
    math = expected["math"]
    chunks = list(wb.client(MODEL).chat(math.prompt, stream=True))
    assert text_of(chunks, Phase.THINKING) == math.thinking
    assert text_of(chunks, Phase.TEXT) == math.answer
    first_text = next(i for i, c in enumerate(chunks) if c.phase is Phase.TEXT)
    assert all(c.phase is not Phase.THINKING for c in chunks[first_text:])
    done = chunks[-1]
    assert done.phase is Phase.DONE and done.content["finish_reason"] == "stop"
    assert done.content["usage"]["input_tokens"] > 0 and done.content["model"] == MODEL
    assert sum(c.phase is Phase.DONE for c in chunks) == 1


def test_thinking_off(tiny, expected):
    math = expected["math"]
    c = wb.client(MODEL, thinking=False)
    assert c.chat(math.prompt) == math.answer and c.last_thinking == ""


def test_tool_call_round_trip(tiny, expected, weather_tool):
    c = wb.client(MODEL, tools=[weather_tool])
    chunks = list(c.chat(expected["weather_call"].prompt, stream=True))
    calls = [ch.content for ch in chunks if ch.phase is Phase.TOOL_CALL]
    assert [(k["name"], k["arguments"]) for k in calls] == [("get_weather", {"city": "Paris"})]
    assert weather_tool.calls == ["Paris"]
    assert "tool_call" not in text_of(chunks, Phase.TEXT)
    assert text_of(chunks, Phase.TEXT) == expected["weather_answer"].answer
    dones = [ch.content for ch in chunks if ch.phase is Phase.DONE]
    assert [d["finish_reason"] for d in dones] == ["tool_calls", "stop"]
    assert [m["role"] for m in c.messages] == ["user", "assistant", "tool", "assistant"]


def test_tool_call_without_running_tools(tiny, expected, weather_tool):
    c = wb.client(MODEL, tools=[weather_tool])
    c.chat(expected["weather_call"].prompt, use_tools=False)
    assert c.messages[-1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert weather_tool.calls == [] and c.last_finish_reason == "tool_calls"


def test_generate_is_stateless_and_max_tokens_gives_length(tiny, expected):
    c = wb.client(MODEL)
    chunks = list(c.generate(expected["story"].prompt, generate_kwargs={"max_tokens": 5}, stream=True))
    assert chunks[-1].content["finish_reason"] == "length"
    assert chunks[-1].content["usage"]["output_tokens"] == 5
    assert c.messages == []


def test_stop_string(tiny, expected):
    c = wb.client(MODEL, thinking=False)
    answer = c.chat(expected["math"].prompt, generate_kwargs={"stop": ["42"]})
    assert answer == "The answer is " and c.last_finish_reason == "stop"


def test_missing_folder_is_a_clear_error_and_nothing_cached(tmp_path):
    before = len(CACHE.entries())
    with pytest.raises(ConfigurationError, match="does not exist"):
        wb.client(f"hf:{tmp_path}/no-such-model")
    with pytest.raises(ConfigurationError, match="has no config.json"):
        wb.client(f"hf:{tmp_path}")
    assert len(CACHE.entries()) == before


def test_missing_hub_id_does_not_download():
    before = len(CACHE.entries())
    with pytest.raises(ConfigurationError, match="no-such-org/no-such-model.*downloads are off"):
        wb.client("hf:no-such-org/no-such-model")
    assert len(CACHE.entries()) == before


def test_context_overflow_names_the_limit(tiny):
    c = wb.client(MODEL, n_ctx=16)
    with pytest.raises(ContextOverflowError, match="n_ctx") as info:
        c.chat("What is 17+25? " * 10)
    assert info.value.limit == 16 and info.value.needed > 16
    assert c.messages == [{"role": "user", "content": "What is 17+25? " * 10}]
    with pytest.raises(ContextOverflowError, match="512"):
        wb.client(MODEL).chat("word " * 600)


def test_images_to_a_text_only_model(tiny, tmp_path):
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(ConfigurationError, match="text-only"):
        wb.client(MODEL).chat("What is this?", images=[png])


def _busy_workers():
    from workbench.models.local.hf_generate import busy_workers

    return busy_workers()


def _decoding():
    """True while a decode step runs (in whichever thread): set from the loop's step hook."""
    return _STEPPING.is_set()


_STEPPING = threading.Event()


def test_keyboard_interrupt_mid_stream_stops_generation(tiny, expected):
    c = wb.client(MODEL)
    stream = c.chat(expected["story"].prompt, stream=True)
    got = []
    with pytest.raises(KeyboardInterrupt):
        for chunk in stream:
            got.append(chunk)
            if chunk.phase is Phase.TEXT:
                raise KeyboardInterrupt
    stream.close()
    assert not _busy_workers()                  # nothing decodes on in the background
    assert c.messages == [{"role": "user", "content": expected["story"].prompt}]
    assert c.last_partial is not None and c.last_partial.text
    assert c.chat(expected["math"].prompt) == expected["math"].answer    # usable afterwards


def test_closing_the_stream_stops_generation(tiny, expected):
    c = wb.client(MODEL)
    stream = c.chat(expected["story"].prompt, stream=True)
    for chunk in stream:
        if chunk.phase is Phase.TEXT:
            break
    stream.close()
    assert not _busy_workers()
    assert len(c.messages) == 1


def test_clear_while_streaming_finishes_the_stream_then_raises(tiny, expected, fresh_cache):
    story = expected["story"]
    c = wb.client(MODEL)
    stream = c.chat(story.prompt, stream=True, generate_kwargs=LONG)
    chunks = [next(stream) for _ in range(3)]
    freed = wb.clear_hf_cache("hf:workbench-tiny")
    assert freed > 0 and wb.cache_info() == []
    chunks += list(stream)                      # the running stream keeps its weights and finishes
    assert text_of(chunks, Phase.TEXT) == story.answer
    assert c.cache_entry.value is None          # ...and they were released when it ended
    with pytest.raises(WeightsClearedError, match="reload"):
        c.chat(story.prompt)
    c.reload()
    assert c.generate(expected["math"].prompt) == expected["math"].answer   # tiny knows no story->math chat


def test_clear_by_enum_and_none(tiny, fresh_cache):
    wb.client(MODEL)
    wb.client(MODEL, dtype="bfloat16")
    assert wb.clear_hf_cache(HuggingFaceModel.WORKBENCH_TINY) > 0
    assert wb.cache_info() == []
    wb.client(MODEL)
    assert wb.clear_llamacpp_cache() == 0 and len(wb.cache_info()) == 1
    assert wb.clear_hf_cache() > 0 and wb.cache_info() == []


def test_path_model_string(tiny, fresh_cache):
    c = wb.client(f"hf:{tiny.hf_dir}")
    assert wb.cache_info()[0].model == str(tiny.hf_dir)
    assert wb.clear_hf_cache(f"hf:{tiny.hf_dir}") > 0


@pytest.mark.gpu
def test_cuda_device_map_and_vram_freed(tiny, expected, fresh_cache):
    import torch

    before = torch.cuda.memory_allocated(0)
    c = wb.client(MODEL, device_map="cuda:0")
    assert str(c._hf_model.device) == "cuda:0"
    entry = wb.cache_info()[0]
    assert set(entry.bytes_by_device) == {"cuda:0"} and entry.kwargs["device_map"] == "cuda:0"
    assert c.chat(expected["math"].prompt) == expected["math"].answer
    del c
    assert wb.clear_hf_cache() > 0
    assert torch.cuda.memory_allocated(0) <= before


def test_fork_shares_weights(tiny, expected):
    from workbench.agents.runner import fork_client

    c = wb.client(MODEL, dtype="float32")
    twin = fork_client(c, None)
    assert twin._hf_model is c._hf_model and twin.load_kwargs == c.load_kwargs
    assert twin.chat(expected["math"].prompt) == expected["math"].answer and c.messages == []


@pytest.mark.parametrize("scheduled", [False, True], ids=["decoding-here", "waiting-on-a-batch"])
def test_keyboard_interrupt_while_waiting_for_tokens(tiny, expected, monkeypatch, scheduled):
    # The interrupt lands in the main thread while it is inside the turn (not in user code
    # between chunks), as Ctrl-C in a notebook does during a non-streaming chat(): alone the
    # turn decodes in this thread; with a scheduler it waits for a batcher's tokens.
    import _thread

    from workbench.models.local import hf_decode
    from workbench.models.local.scheduler import InferenceScheduler

    _STEPPING.clear()
    monkeypatch.setattr(hf_decode, "step_hook", lambda live: _STEPPING.set())
    c = wb.client(MODEL, scheduler=InferenceScheduler(max_concurrent=2) if scheduled else None)

    def interrupt_once_generating():
        if _STEPPING.wait(20):
            _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_once_generating)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in range(50):                  # in case a turn finishes before the interrupt lands
            c.reset()
            c.chat(expected["story"].prompt, generate_kwargs=LONG)
    watcher.join()
    for _ in range(200):                     # a batcher sees the cancel at its next token
        if not _busy_workers():
            break
        threading.Event().wait(0.01)
    assert not _busy_workers()               # no decode goes on behind the interrupt
    assert c.messages == [{"role": "user", "content": expected["story"].prompt}]


def test_concurrent_first_clients_load_once(tiny, fresh_cache):
    from workbench.models.local.weights import subscribe, unsubscribe

    loads = []
    subscribe(loads.append)
    clients = [None] * 6
    barrier = threading.Barrier(6)

    def make(i):
        barrier.wait(30)
        clients[i] = wb.client(MODEL, dtype="float16")

    threads = [threading.Thread(target=make, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        unsubscribe(loads.append)
    assert [e.action for e in loads] == ["load"]
    assert all(c._hf_model is clients[0]._hf_model for c in clients)
    assert wb.cache_info()[0].hits == 5


def test_a_generate_failure_is_a_provider_error_with_partial(tiny, expected):
    from workbench.errors import ProviderError

    c = wb.client(MODEL)
    with pytest.raises(ProviderError, match="generate\\(\\) failed") as info:
        c.chat(expected["math"].prompt, generate_kwargs={"temperature": 0.7, "top_p": "not a number"})
    assert info.value.partial is not None and len(c.messages) == 1


def test_seeded_sampling_repeats(tiny, expected):
    c = wb.client(MODEL)
    kw = {"temperature": 1.5, "top_p": 0.95, "seed": 7, "max_tokens": 30}
    assert c.generate(expected["story"].prompt, generate_kwargs=kw) == \
        c.generate(expected["story"].prompt, generate_kwargs=kw)
