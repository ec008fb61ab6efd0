"""The weight cache itself, with plain loader callables (the model-backed checks are in test_hf/test_llamacpp)."""

from __future__ import annotations

import threading

import pytest

from workbench.errors import WeightsClearedError
from workbench.models.local.weights import CacheInfo, CacheKey, Loaded, WeightCache, normalize_kwargs
from workbench.models.spec import HuggingFaceModel


class Blob:
    """Stands in for loaded weights: sized, and records being closed."""

    def __init__(self, n: int = 100):
        self.n = n
        self.closed = False


def loaded(n: int = 100, label: str | None = None) -> Loaded:
    return Loaded(Blob(n), bytes_by_device={"cpu": n}, close=lambda b: setattr(b, "closed", True), label=label)


def test_dtype_spellings_normalize_to_one_key():
    import torch

    keys = {CacheKey.make("hf", "m", {"dtype": d}) for d in (torch.bfloat16, "bf16", "bfloat16", "torch.bfloat16")}
    assert len(keys) == 1
    assert normalize_kwargs({"torch_dtype": torch.float16}) == (("dtype", "float16"),)


def test_device_maps_and_kwarg_order():
    a = CacheKey.make("hf", "m", {"device_map": "cuda:0", "dtype": "float32"})
    b = CacheKey.make("hf", "m", {"dtype": "float32", "device_map": "cuda:0"})
    c = CacheKey.make("hf", "m", {"device_map": "cuda:1", "dtype": "float32"})
    assert a == b and a != c
    assert CacheKey.make("hf", "m", {"device_map": {"": 0}}) != CacheKey.make("hf", "m", {"device_map": {"": 1}})
    assert CacheKey.make("hf", "m", {"revision": None}) == CacheKey.make("hf", "m", {})


def test_second_get_is_a_hit_and_shares_the_value():
    cache = WeightCache()
    calls = []
    e1 = cache.get_or_load("hf", "m", {}, lambda: calls.append(1) or loaded())
    e2 = cache.get_or_load("hf", "m", {}, lambda: calls.append(1) or loaded())
    assert e1 is e2 and e1.value is e2.value and len(calls) == 1 and e1.hits == 1
    e3 = cache.get_or_load("hf", "m", {"dtype": "float16"}, lambda: calls.append(1) or loaded())
    assert e3 is not e1 and len(calls) == 2


def test_concurrent_first_loads_of_one_key_load_once():
    cache = WeightCache()
    calls = []
    release = threading.Event()
    started = threading.Event()

    def loader():
        calls.append(threading.get_ident())
        started.set()
        release.wait(10)
        return loaded()

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_load("hf", "m", {}, loader)))
               for _ in range(8)]
    for t in threads:
        t.start()
    assert started.wait(10)
    release.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert results[0].hits == 7


def test_unrelated_keys_load_in_parallel():
    # Each loader waits until the other one is inside too: a global lock would deadlock (time out).
    cache = WeightCache()
    barrier = threading.Barrier(2, timeout=10)
    errors = []

    def loader():
        barrier.wait()
        return loaded()

    def go(name):
        try:
            cache.get_or_load("hf", name, {}, loader)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert errors == [] and len(cache.entries()) == 2


def test_failed_load_leaves_cache_unchanged_and_retries():
    cache = WeightCache()
    events = []
    cache.subscribe(events.append)

    def oom():
        raise MemoryError("CUDA out of memory (simulated)")

    with pytest.raises(MemoryError):
        cache.get_or_load("hf", "m", {}, oom)
    assert cache.entries() == [] and events == []
    entry = cache.get_or_load("hf", "m", {}, lambda: loaded())
    assert entry.hits == 0 and len(cache.entries()) == 1
    assert [e.action for e in events] == ["load"]


def test_waiters_share_the_leaders_failure_then_next_call_retries():
    cache = WeightCache()
    release = threading.Event()
    started = threading.Event()

    def failing():
        started.set()
        release.wait(10)
        raise MemoryError("simulated OOM")

    errors = []

    def go():
        try:
            cache.get_or_load("hf", "m", {}, failing)
        except MemoryError as exc:
            errors.append(exc)

    leader = threading.Thread(target=go)
    leader.start()
    assert started.wait(10)
    follower = threading.Thread(target=go)
    follower.start()
    release.set()
    leader.join(10)
    follower.join(10)
    assert len(errors) == 2
    assert cache.get_or_load("hf", "m", {}, lambda: loaded()).value.n == 100


def test_cache_info_fields_repr_and_html():
    cache = WeightCache()
    cache.get_or_load("hf", "org/model", {"dtype": "bf16", "device_map": "cpu"},
                      lambda: Loaded(Blob(), bytes_by_device={"cpu": 2048, "cuda:0": 4096}))
    cache.get_or_load("hf", "org/model", {"dtype": "bf16", "device_map": "cpu"}, lambda: loaded())
    info = cache.info()
    assert isinstance(info, CacheInfo) and len(info) == 1
    e = info[0]
    assert e.provider == "hf" and e.model == "org/model"
    assert e.kwargs == {"device_map": "cpu", "dtype": "bfloat16"}
    assert e.bytes_by_device == {"cpu": 2048, "cuda:0": 4096} and e.bytes == 6144
    assert e.hits == 1 and e.load_s >= 0 and e.devices == ["cpu", "cuda:0"]
    assert "org/model" in repr(info) and "6.0 KiB" in repr(info)
    html = info._repr_html_()
    assert html.startswith("<table>") and "org/model" in html and "dtype=bfloat16" in html
    assert repr(WeightCache().info()) == "<weight cache: empty>"


def test_clear_by_string_enum_and_none_returns_bytes_and_closes():
    cache = WeightCache()
    tiny = cache.get_or_load("hf", "workbench-tiny", {}, lambda: loaded(10))
    qwen = cache.get_or_load("hf", "Qwen/Qwen3-8B", {}, lambda: loaded(20))
    qwen16 = cache.get_or_load("hf", "Qwen/Qwen3-8B", {"dtype": "float16"}, lambda: loaded(40))
    gguf = cache.get_or_load("llamacpp", "workbench-tiny", {}, lambda: loaded(80))
    blob = tiny.value

    assert cache.clear(("hf",), "nothing-like-this") == 0
    assert cache.clear(("hf",), "hf:Qwen/Qwen3-8B") == 60            # both kwargs variants
    assert qwen.cleared and qwen16.cleared and qwen.value is None
    assert cache.clear(("hf",), HuggingFaceModel.WORKBENCH_TINY) == 10
    assert blob.closed and not gguf.cleared                       # kinds are separate
    assert cache.clear(("llamacpp",), None) == 80
    assert cache.entries() == []


def test_clear_by_path_matches_resolved_path(tmp_path):
    cache = WeightCache()
    f = tmp_path / "m.gguf"
    f.write_bytes(b"x")
    cache.get_or_load("llamacpp", str(f.resolve()), {}, lambda: loaded(7))
    assert cache.clear(("llamacpp",), f"llamacpp:{f}") == 7


def test_clear_rejects_bad_model_type():
    with pytest.raises(TypeError, match="model="):
        WeightCache().clear(None, 42)


def test_clear_during_use_frees_after_the_lease():
    cache = WeightCache()
    entry = cache.get_or_load("llamacpp", "m", {}, lambda: loaded())
    with entry.use() as blob:
        assert cache.clear(("llamacpp",), "m") == 100
        assert not blob.closed            # the running turn still has working weights
        assert cache.entries() == []
    assert blob.closed and entry.value is None
    with pytest.raises(WeightsClearedError, match="reload"):
        with entry.use():
            pass


def test_subscribers_see_loads_and_clears():
    cache = WeightCache()
    events = []
    cache.subscribe(events.append)
    cache.subscribe(events.append)        # once only
    cache.get_or_load("hf", "m", {}, lambda: loaded())
    cache.clear(None, None)
    assert [(e.action, e.bytes) for e in events] == [("load", 100), ("clear", 100)]
    assert events[1].entries[0].model == "m"
    cache.unsubscribe(events.append)
    cache.get_or_load("hf", "m", {}, lambda: loaded())
    assert len(events) == 2


def test_a_broken_subscriber_does_not_break_loading():
    cache = WeightCache()
    cache.subscribe(lambda event: 1 / 0)
    assert cache.get_or_load("hf", "m", {}, lambda: loaded()).value.n == 100


def test_top_level_verbs_are_lazy_and_wired():
    import workbench as wb

    assert callable(wb.cache_info) and callable(wb.clear_hf_cache) and callable(wb.clear_llamacpp_cache)
    assert isinstance(wb.cache_info(), CacheInfo)
