"""Nothing in-process waits forever: a scheduler slot and a concurrent weight load have limits."""

from __future__ import annotations

import threading
import time

import pytest

from workbench.errors import ConfigurationError, WaitTimeout
from workbench.models.local.scheduler import InferenceScheduler
from workbench.models.local.weights import WeightCache


def test_a_slot_wait_ends_with_a_typed_error_naming_the_setting(monkeypatch):
    scheduler = InferenceScheduler(max_concurrent=1)
    held = scheduler.acquire()
    monkeypatch.setenv("WORKBENCH_SLOT_TIMEOUT", "0.2")
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"within 0.2 s.*wait_timeout_s=.*WORKBENCH_SLOT_TIMEOUT") as caught:
        scheduler.acquire()
    assert 0.15 < time.monotonic() - started < 5 and caught.value.setting == "WORKBENCH_SLOT_TIMEOUT"
    assert isinstance(caught.value, TimeoutError)
    own = InferenceScheduler(max_concurrent=1, wait_timeout_s=0.1)      # its own limit wins over the variable
    kept = own.acquire()                     # (a permit dropped unreleased frees its slot)
    with pytest.raises(WaitTimeout, match="within 0.1 s"):
        own.acquire()
    held.release()
    kept.release()
    assert scheduler.acquire().release() is None and scheduler.active_count == 0     # nothing leaked
    monkeypatch.setenv("WORKBENCH_SLOT_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="WORKBENCH_SLOT_TIMEOUT='soon'"):
        InferenceScheduler().acquire()
    with pytest.raises(ValueError, match="wait_timeout_s"):
        InferenceScheduler(wait_timeout_s=0)


def test_a_thread_waiting_for_anothers_load_stops_at_the_limit_and_the_cache_stays_whole(monkeypatch):
    cache = WeightCache()
    release = threading.Event()

    def slow_loader():
        release.wait(10)
        return [1, 2, 3]

    leader = threading.Thread(target=lambda: cache.get_or_load("hf", "slow", {}, slow_loader))
    leader.start()
    time.sleep(0.1)
    monkeypatch.setenv("WORKBENCH_LOAD_TIMEOUT", "0.2")
    with pytest.raises(WaitTimeout, match=r"slow: another thread has been loading.*WORKBENCH_LOAD_TIMEOUT"):
        cache.get_or_load("hf", "slow", {}, lambda: pytest.fail("a waiter never loads a second copy"))
    release.set()
    leader.join(10)
    entry = cache.get_or_load("hf", "slow", {}, lambda: pytest.fail("loaded once"))
    assert entry.value == [1, 2, 3] and len(cache.entries()) == 1
