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

Clients without ``scheduler=`` (the default) run each call at once in its own thread:
nothing bounds them, as with separate processes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator


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


class InferenceScheduler:
    def __init__(self, max_concurrent: int = 1, *, batch_window_s: float = 0.02, batching: bool = True):
        if not isinstance(max_concurrent, int) or max_concurrent < 1:
            raise ValueError(f"max_concurrent must be an int >= 1, got {max_concurrent!r}.")
        self.max_concurrent = max_concurrent
        self.batch_window_s = batch_window_s
        self.batching = batching
        self._cond = threading.Condition()
        self._active = 0
        self._pools: dict[Any, list[Any]] = {}
        self._resetters: dict[Any, Callable[[Any], None]] = {}
        self._batchers: dict[int, _HFBatcher] = {}
        self.batches_run = 0          # how many generate calls the batchers made (for tests/benchmarks)
        self.max_batch_seen = 0

    def __repr__(self) -> str:
        return f"<InferenceScheduler max_concurrent={self.max_concurrent} active={self.active_count}>"

    @property
    def active_count(self) -> int:
        with self._cond:
            return self._active

    # -- slots -------------------------------------------------------------------------------
    def acquire(self, *, timeout: float | None = None, pool_key: Any = None,
                factory: Callable[[], Any] | None = None, reset: Callable[[Any], None] | None = None,
                slots: int = 1) -> Permit:
        """Wait for a slot; with ``pool_key``/``factory``, lease a pooled context too."""
        if slots > self.max_concurrent:
            raise ValueError(f"{slots} slots asked of a scheduler with max_concurrent={self.max_concurrent}.")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._active + slots > self.max_concurrent:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"No inference slot free within {timeout} s "
                                       f"(max_concurrent={self.max_concurrent}).")
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
            except Exception:
                pass                    # a context that cannot be reset is dropped, not reused
        with self._cond:
            self._active -= slots
            self._cond.notify_all()

    def pool_size(self, pool_key: Any) -> int:
        with self._cond:
            return len(self._pools.get(pool_key, []))

    def drop_pool(self, pool_key: Any) -> list[Any]:
        """Forget the pooled contexts of a model (its weights were cleared); returns them."""
        with self._cond:
            self._resetters.pop(pool_key, None)
            return self._pools.pop(pool_key, [])

    # -- transformers batching ------------------------------------------------------------------
    def submit_hf(self, weights: Any, request: "GenRequest") -> None:
        """Queue a request; it runs in the next batch for these weights."""
        if not self.batching or request.batch_key() is None:
            threading.Thread(target=self._run_alone, args=(weights, request), daemon=True,
                             name="workbench-hf-generate").start()
            return
        with self._cond:
            batcher = self._batchers.get(id(weights))
            if batcher is None or batcher.weights is not weights:
                batcher = self._batchers[id(weights)] = _HFBatcher(self, weights)
        batcher.submit(request)

    def _run_alone(self, weights: Any, request: "GenRequest") -> None:
        try:
            permit = self.acquire()
        except BaseException as exc:
            request.fail(exc)
            return
        with permit:
            self._count_batch(1)
            run_batch(weights, [request])

    def _count_batch(self, size: int) -> None:
        with self._cond:
            self.batches_run += 1
            self.max_batch_seen = max(self.max_batch_seen, size)

    def _forget_batcher(self, batcher: "_HFBatcher") -> None:
        with self._cond:
            if self._batchers.get(id(batcher.weights)) is batcher:
                del self._batchers[id(batcher.weights)]


class _HFBatcher:
    """Collects requests for one model and runs them as batches, one generate call at a time."""

    def __init__(self, scheduler: InferenceScheduler, weights: Any):
        self.scheduler = scheduler
        self.weights = weights
        self._lock = threading.Lock()
        self._pending: list[GenRequest] = []
        self._running = False

    def submit(self, request: "GenRequest") -> None:
        with self._lock:
            self._pending.append(request)
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._work, daemon=True, name="workbench-hf-batcher").start()

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
            while time.monotonic() < deadline:
                with self._lock:
                    if len(self._pending) >= s.max_concurrent:
                        break
                time.sleep(0.002)
            with self._lock:
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
                s._count_batch(len(batch))
                run_batch(self.weights, batch)


# -- the transformers generation engine (batched or not, one code path) ------------------------
POLL_S = 0.02    # how often a caller collects its tokens (50 updates a second at most)


@dataclass(eq=False)
class GenRequest:
    """One prompt to continue; its tokens stream back through ``tokens()``."""

    input_ids: list[int]
    max_new_tokens: int
    eos_ids: frozenset[int]
    do_sample: bool = False
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    extra_inputs: dict[str, Any] | None = None       # pixel values etc.: never batched
    stop_event: threading.Event = field(default_factory=threading.Event)
    finish_reason: str | None = None
    count: int = 0
    done: bool = False
    _tokens: "deque[int]" = field(default_factory=deque, repr=False)
    _ended: threading.Event = field(default_factory=threading.Event, repr=False)
    _error: BaseException | None = field(default=None, repr=False)

    def batch_key(self) -> tuple | None:
        """Requests batch together only when they sample alike; seeded or multimodal ones run alone."""
        if self.seed is not None or self.extra_inputs:
            return None
        return (self.do_sample, self.temperature, self.top_p)

    def emit(self, token: int) -> None:
        self.count += 1
        self._tokens.append(token)        # deque.append is atomic: no lock, no wake-up

    def finish(self, reason: str) -> None:
        if not self.done:
            self.done = True
            self.finish_reason = reason
            self._ended.set()

    def fail(self, exc: BaseException) -> None:
        if not self.done:
            self._error = exc
            self.done = True
            self._ended.set()

    def tokens(self, poll_s: float = POLL_S) -> Iterator[list[int]]:
        """The generated token ids in bursts; raises what the generate call raised.

        The caller polls (every ``poll_s``) instead of being woken per token: eight callers
        woken once per token each fight one batched ``generate`` for the GIL and slow it
        several-fold, while a notebook cannot show more than a few dozen updates a second.
        """
        while True:
            ended = self._ended.wait(poll_s)
            burst = []
            while self._tokens:
                burst.append(self._tokens.popleft())
            if burst:
                yield burst
            if ended and not self._tokens:
                break
        if self._error is not None:
            raise self._error


def run_batch(weights: Any, requests: list[GenRequest]) -> None:
    """One ``generate`` call for these requests (left-padded); never raises into the caller thread."""
    try:
        _generate(weights, requests)
    except BaseException as exc:
        for r in requests:
            r.fail(exc)
        return
    for r in requests:     # generate ended: rows still open ran out of the shared token budget
        r.finish("length")


def _generate(weights: Any, requests: list[GenRequest]) -> None:
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList
    from transformers.generation.streamers import BaseStreamer

    model = weights.model
    pad = weights.pad_id
    width = max(len(r.input_ids) for r in requests)
    ids = [[pad] * (width - len(r.input_ids)) + list(r.input_ids) for r in requests]
    mask = [[0] * (width - len(r.input_ids)) + [1] * len(r.input_ids) for r in requests]
    device = model.device

    class RowStreamer(BaseStreamer):
        def __init__(self) -> None:
            self.prompt_seen = False

        def put(self, value):
            if not self.prompt_seen:      # generate first sends the prompt
                self.prompt_seen = True
                return
            for row, token in zip(requests, value.reshape(-1).tolist()):
                if row.done:
                    continue
                if row.stop_event.is_set():
                    row.finish("cancelled")
                elif token in row.eos_ids:
                    row.finish("stop")
                else:
                    row.emit(token)
                    if row.count >= row.max_new_tokens:
                        row.finish("length")

        def end(self):
            pass

    class RowStop(StoppingCriteria):
        # Per-row answer: a row that finished (or whose caller went away) stops generating.
        def __call__(self, input_ids, scores, **kwargs):
            return torch.tensor([r.done or r.stop_event.is_set() for r in requests], device=input_ids.device)

    first = requests[0]
    config = _generation_config(model, first)
    eos = sorted(set().union(*(r.eos_ids for r in requests)))
    config.eos_token_id = eos or None
    config.pad_token_id = pad
    config.max_new_tokens = max(r.max_new_tokens for r in requests)
    kwargs = dict(input_ids=torch.tensor(ids, device=device), attention_mask=torch.tensor(mask, device=device),
                  generation_config=config,
                  streamer=RowStreamer(), stopping_criteria=StoppingCriteriaList([RowStop()]))
    if first.extra_inputs:
        kwargs.update({k: (v.to(device) if hasattr(v, "to") else v) for k, v in first.extra_inputs.items()})
    if first.seed is not None:
        torch.manual_seed(first.seed)
    with torch.inference_mode():
        model.generate(**kwargs)


def _generation_config(model: Any, request: GenRequest):
    import copy

    config = copy.deepcopy(model.generation_config)
    if request.do_sample:
        config.do_sample = True
        if request.temperature is not None:
            config.temperature = request.temperature
        if request.top_p is not None:
            config.top_p = request.top_p
    else:
        # Greedy: unset the sampling knobs so transformers does not warn they are ignored.
        config.do_sample = False
        config.temperature = None
        config.top_p = None
        config.top_k = None
        config.min_p = None
    config.max_length = None
    return config


def start_direct(weights: Any, request: GenRequest) -> threading.Thread:
    """No scheduler: run the request now, alone, in its own thread."""
    thread = threading.Thread(target=run_batch, args=(weights, [request]), daemon=True,
                              name="workbench-hf-generate")
    thread.start()
    return thread
