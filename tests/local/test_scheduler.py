"""InferenceScheduler slots and the context pool (model-backed batching is in test_batching.py)."""

from __future__ import annotations

import threading

import pytest

from workbench.models.local.scheduler import InferenceScheduler


def _run_workers(scheduler: InferenceScheduler, n_threads: int, hold: threading.Event | None = None):
    """Each worker takes a permit and records how many permits were out at once."""
    lock = threading.Lock()
    active = [0]
    seen = []
    entered = threading.Semaphore(0)

    def work():
        with scheduler.acquire():
            with lock:
                active[0] += 1
                seen.append(active[0])
            entered.release()
            if hold is not None:
                hold.wait(10)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    return threads, seen, entered


def test_max_concurrent_one_serializes():
    s = InferenceScheduler(max_concurrent=1)
    hold = threading.Event()
    threads, seen, entered = _run_workers(s, 4, hold)
    assert entered.acquire(timeout=10)          # one worker is in
    assert s.active_count == 1
    hold.set()
    for t in threads:
        t.join(10)
    assert len(seen) == 4 and max(seen) == 1 and s.active_count == 0


def test_max_concurrent_n_bounds_and_allows_parallel():
    s = InferenceScheduler(max_concurrent=3)
    hold = threading.Event()
    threads, seen, entered = _run_workers(s, 6, hold)
    for _ in range(3):                          # three get in while the others wait
        assert entered.acquire(timeout=10)
    assert s.active_count == 3
    hold.set()
    for t in threads:
        t.join(10)
    assert max(seen) == 3 and s.active_count == 0


def test_try_acquire_and_permit_context_manager():
    s = InferenceScheduler(max_concurrent=1)
    with s.permit() as p:
        assert s.active_count == 1 and s.try_acquire() is None
        p.release()
        p.release()                             # idempotent
        assert s.active_count == 0
    q = s.try_acquire()
    assert q is not None and s.active_count == 1
    q.release()
    assert s.active_count == 0


def test_acquire_timeout():
    s = InferenceScheduler(max_concurrent=1)
    with s.acquire():
        with pytest.raises(TimeoutError, match="max_concurrent=1"):
            s.acquire(timeout=0.01)


def test_bad_max_concurrent():
    with pytest.raises(ValueError):
        InferenceScheduler(max_concurrent=0)


def test_pool_reuses_contexts_and_resets_them_between_leases():
    s = InferenceScheduler(max_concurrent=2)
    made, resets = [], []

    def factory():
        made.append(object())
        return made[-1]

    kw = dict(pool_key="model-a", factory=factory, reset=resets.append)
    with s.acquire(**kw) as p1, s.acquire(**kw) as p2:
        assert p1.context is not p2.context
    assert len(made) == 2 and len(resets) == 2 and s.pool_size("model-a") == 2
    for _ in range(5):
        with s.acquire(**kw) as p:
            assert p.context in made
    assert len(made) == 2                        # no new context: leases reuse the pool
    assert len(resets) == 7
    assert s.drop_pool("model-a") and s.pool_size("model-a") == 0


def test_failing_factory_gives_the_slot_back():
    s = InferenceScheduler(max_concurrent=1)

    def factory():
        raise RuntimeError("no memory for a context")

    with pytest.raises(RuntimeError):
        s.acquire(pool_key="k", factory=factory)
    assert s.active_count == 0
