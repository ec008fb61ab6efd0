"""InferenceScheduler: bound concurrent inference on in-process models, pool llama.cpp contexts,
and batch concurrent transformers requests into one ``generate`` call.

    sched = InferenceScheduler(max_concurrent=4)
    a = wb.client("hf:workbench-tiny", scheduler=sched)
    b = wb.client("hf:workbench-tiny", scheduler=sched)   # requests of a and b that arrive
                                                          # together run as one batch

Semantics (after the llama-cpp-v3 agent SDK's scheduler): a counting semaphore of
``max_concurrent`` slots; ``acquire()`` blocks, ``try_acquire()`` does not, both give a
:class:`Permit` (a context manager) that frees its slot when it ends; ``active_count``.
``max_concurrent=1`` serializes every inference that goes through the scheduler.

- llama.cpp: a permit can lease a context (KV cache) from a pool of at most N per model;
  contexts are cleared between leases and reused across clients and agents.
- transformers: requests with the same sampling settings that arrive within
  ``batch_window_s`` of each other are left-padded into one ``generate`` call of up to N
  rows (a row holds a slot); each row stops at its own end of turn or token limit and
  streams its tokens back to its own caller. Greedy outputs equal unbatched ones.
  Seeded, multimodal or differently-sampled requests run alone (still holding a slot).

The default is no scheduler (``scheduler=None``): an HF call runs at once in its own
worker thread, a llama.cpp call on the client's own context; nothing bounds them, as with
separate processes. Share one scheduler between clients (agents) to bound or batch them.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from workbench.models.local.hf_generate import GenRequest, plan_engine, run_batch, spawn, track, warn_slow_path


class Permit:
    """One slot of a scheduler (and, for llama.cpp, the context leased with it)."""

    def __init__(self, scheduler: "InferenceScheduler", slots: int = 1, context: Any = None,
                 pool_key: Any = None):
        self._scheduler = scheduler
        self.slots = slots
        self.context = context
        self._pool_key = pool_key
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        context, self.context = self.context, None
        self._scheduler._release(self.slots, context, self._pool_key)

    def __enter__(self) -> "Permit":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __del__(self) -> None:  # a permit dropped without release still frees its slot
        try:
            self.release()
        except Exception:
            pass


SLOT_TIMEOUT_ENV = "WORKBENCH_SLOT_TIMEOUT"
DEFAULT_SLOT_WAIT_S = 3600.0


class InferenceScheduler:
    def __init__(self, max_concurrent: int = 1, *, batch_window_s: float = 0.02, batching: bool = True,
                 wait_timeout_s: float | None = None):
        if not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValueError(f"max_concurrent must be an int >= 1, got {max_concurrent!r}.")
        if wait_timeout_s is not None and not (isinstance(wait_timeout_s, (int, float)) and wait_timeout_s > 0):
            raise ValueError(f"wait_timeout_s takes seconds > 0, got {wait_timeout_s!r}.")
        # how long a request may wait for a slot (None: $WORKBENCH_SLOT_TIMEOUT, else an hour)
        self.wait_timeout_s = wait_timeout_s
        self.max_concurrent = max_concurrent
        self.batch_window_s = batch_window_s
        self.batching = batching
        self._cond = threading.Condition()
        self._active = 0
        self._pools: dict[Any, list[Any]] = {}
        self._resetters: dict[Any, Callable[[Any], None]] = {}
        self._batchers: dict[int, _HFBatcher] = {}
        self.batches_run = 0          # how many batches (of one row or more) ran (for tests/benchmarks)
        self.max_batch_seen = 0
        self._engines: dict[str, int] = {}
        self._rows_alone: dict[str, int] = {}
        self._contexts_dropped = 0

    def __repr__(self) -> str:
        return f"<InferenceScheduler max_concurrent={self.max_concurrent} active={self.active_count}>"

    @property
    def active_count(self) -> int:
        with self._cond:
            return self._active

    def stats(self) -> dict[str, Any]:
        """What ran through this scheduler, and on which engine.

        ``engines``: batches per engine ("greedy-loop": our decode loop, "generate": one
        transformers ``generate`` call); ``rows_alone``: requests that could not join a batch,
        by reason; ``contexts_dropped``: llama.cpp contexts that failed their reset and were
        not reused; ``pooled_contexts``: contexts waiting in the pools.
        """
        with self._cond:
            return {"max_concurrent": self.max_concurrent, "active": self._active,
                    "batches_run": self.batches_run, "max_batch_seen": self.max_batch_seen,
                    "engines": dict(self._engines), "rows_alone": dict(self._rows_alone),
                    "contexts_dropped": self._contexts_dropped,
                    "pooled_contexts": sum(len(p) for p in self._pools.values())}

    # -- slots -------------------------------------------------------------------------------
    def acquire(self, *, timeout: float | None = None, pool_key: Any = None,
                factory: Callable[[], Any] | None = None, reset: Callable[[Any], None] | None = None,
                slots: int = 1) -> Permit:
        """Wait for a slot (at most ``timeout`` s, default ``wait_timeout_s``); with
        ``pool_key``/``factory``, lease a pooled context too. Never waits forever: past the
        limit it raises WaitTimeout naming the setting."""
        from workbench.errors import WaitTimeout, wait_limit

        if slots > self.max_concurrent:
            raise ValueError(f"{slots} slots asked of a scheduler with max_concurrent={self.max_concurrent}.")
        if timeout is None:
            timeout = self.wait_timeout_s or wait_limit(SLOT_TIMEOUT_ENV, DEFAULT_SLOT_WAIT_S)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active + slots > self.max_concurrent:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeout(
                        f"No inference slot came free within {timeout:g} s ({self._active} of "
                        f"max_concurrent={self.max_concurrent} busy). Let requests wait longer with "
                        f"InferenceScheduler(wait_timeout_s=...) or ${SLOT_TIMEOUT_ENV}, or give the scheduler "
                        "more slots (max_concurrent=).", setting=SLOT_TIMEOUT_ENV)
                self._cond.wait(left)
            self._active += slots
        return self._lease(slots, pool_key, factory, reset)

    def try_acquire(self, *, pool_key: Any = None, factory: Callable[[], Any] | None = None,
                    reset: Callable[[Any], None] | None = None) -> Permit | None:
        with self._cond:
            if self._active >= self.max_concurrent:
                return None
            self._active += 1
        return self._lease(1, pool_key, factory, reset)

    def permit(self, **kwargs: Any) -> Permit:
        """``with scheduler.permit(): ...`` (same as ``acquire``)."""
        return self.acquire(**kwargs)

    def _lease(self, slots: int, pool_key: Any, factory, reset) -> Permit:
        if pool_key is None:
            return Permit(self, slots)
        with self._cond:
            pool = self._pools.setdefault(pool_key, [])
            context = pool.pop() if pool else None
            if reset is not None:
                self._resetters[pool_key] = reset
        if context is None and factory is not None:
            try:
                context = factory()
            except BaseException:
                self._release(slots, None, None)
                raise
        return Permit(self, slots, context, pool_key)

    def _release(self, slots: int, context: Any, pool_key: Any) -> None:
        if context is not None:
            reset = self._resetters.get(pool_key)
            try:
                if reset is not None:
                    reset(context)      # a leased KV cache never leaks into the next lease
                with self._cond:
                    self._pools.setdefault(pool_key, []).append(context)
            except Exception as exc:    # a context that cannot be reset is dropped, not reused
                with self._cond:
                    self._contexts_dropped += 1
                warn_slow_path(context, f"a pooled llama.cpp context failed its reset ({exc}) and "
                                        f"was dropped: the next lease builds a new one")
        with self._cond:
            self._active -= slots
            self._cond.notify_all()

    def pool_size(self, pool_key: Any) -> int:
        with self._cond:
            return len(self._pools.get(pool_key, []))

    def pool_keys(self) -> list[Any]:
        with self._cond:
            return list(self._pools)

    def drop_pool(self, pool_key: Any) -> list[Any]:
        """Forget the pooled contexts of a model (its weights were cleared); returns them."""
        with self._cond:
            self._resetters.pop(pool_key, None)
            return self._pools.pop(pool_key, [])

    # -- transformers batching ------------------------------------------------------------------
    def submit_hf(self, weights: Any, request: GenRequest) -> None:
        """Queue a request; it runs in the next batch for these weights."""
        if not self.batching or request.batch_key() is None:
            reason = "batching=False" if not self.batching else (
                "it has images" if request.extra_inputs else "it is seeded")
            with self._cond:
                self._rows_alone[reason] = self._rows_alone.get(reason, 0) + 1
            if self.batching and self.max_concurrent > 1:
                warn_slow_path(weights.model, f"a request runs alone, not batched, because {reason} "
                                              f"(each seeded or image request holds a slot by itself)")
            spawn(self._run_alone, weights, request, requests=[request])
            return
        with self._cond:
            batcher = self._batchers.get(id(weights))
            if batcher is None or batcher.weights is not weights:
                batcher = self._batchers[id(weights)] = _HFBatcher(self, weights)
        track(request)
        batcher.submit(request)

    def _run_alone(self, weights: Any, request: GenRequest) -> None:
        try:
            permit = self.acquire()
        except BaseException as exc:
            request.fail(exc)
            return
        with permit:
            self._count_batch(1, plan_engine(weights, request))
            run_batch(weights, [request])

    def _count_batch(self, size: int, engine: str) -> None:
        with self._cond:
            self.batches_run += 1
            self.max_batch_seen = max(self.max_batch_seen, size)
            self._engines[engine] = self._engines.get(engine, 0) + 1

    def _forget_batcher(self, batcher: "_HFBatcher") -> None:
        with self._cond:
            if self._batchers.get(id(batcher.weights)) is batcher:
                del self._batchers[id(batcher.weights)]


class _HFBatcher:
    """Collects requests for one model and runs them as batches, one generate call at a time."""

    def __init__(self, scheduler: InferenceScheduler, weights: Any):
        self.scheduler = scheduler
        self.weights = weights
        self._lock = threading.Condition()
        self._pending: list[GenRequest] = []
        self._running = False

    def submit(self, request: GenRequest) -> None:
        with self._lock:
            self._pending.append(request)
            self._lock.notify()               # a full batch ends the window at once
            if self._running:
                return
            self._running = True
        spawn(self._work)

    def _work(self) -> None:
        s = self.scheduler
        while True:
            with self._lock:
                if not self._pending:        # nothing left: end now, not a window later
                    self._running = False
                    s._forget_batcher(self)
                    return
            # Give requests that arrive together a moment to join (the window ends early when full).
            deadline = time.monotonic() + s.batch_window_s
            with self._lock:
                self._lock.wait_for(lambda: len(self._pending) >= s.max_concurrent
                                    or time.monotonic() >= deadline, timeout=s.batch_window_s)
                live = [r for r in self._pending if not r.stop_event.is_set()]
                for r in self._pending:
                    if r.stop_event.is_set():
                        r.finish("cancelled")
                if not live:
                    self._pending.clear()
                    self._running = False
                    s._forget_batcher(self)
                    return
                key = live[0].batch_key()
                batch = [r for r in live if r.batch_key() == key][:s.max_concurrent]
                self._pending = [r for r in live if r not in batch]
            try:
                permit = s.acquire(slots=len(batch))
            except BaseException as exc:
                for r in batch:
                    r.fail(exc)
                continue
            with permit:
                s._count_batch(len(batch), plan_engine(self.weights, batch[0]))
                run_batch(self.weights, batch)
