"""The transformers generation engine: one decode for one or many requests.

Batched or not, every in-process HF turn goes through :func:`run_batch`: prompts are
left-padded into one batch and each row ends at its own end of turn, token limit or
cancellation (``stop_event``), so one caller leaving does not stop the others.

- Greedy text batches run our own loop (:mod:`hf_decode`): rows that finish leave the
  batch at once, so a long answer does not keep the short ones' rows computing.
- Sampling (and multimodal) batches run one ``generate`` call: a streamer hands each row's
  tokens to its own :class:`GenRequest` and a stopping criterion ends each row.
- A greedy batch that cannot take the loop (see ``hf_decode.greedy_loop_blocker``) also
  runs ``generate``, and says why once per model (:class:`~workbench.errors.SlowPathWarning`).

Each request records the engine that ran it (``GenRequest.engine``: "greedy-loop" or
"generate"). Callers are woken when tokens arrive, never by a timer: a token that lands
while the caller is busy joins the next burst, so a slow consumer gets fewer, larger bursts.

Work runs in daemon threads that are stopped and joined at interpreter exit.
"""

from __future__ import annotations

import atexit
import queue
import threading
import warnings
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from workbench.errors import SlowPathWarning
from workbench.models.local.hf_decode import decode_greedy, greedy_loop_blocker, greedy_steps

GREEDY_LOOP, GENERATE = "greedy-loop", "generate"


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
    engine: str | None = None        # which engine ran it: GREEDY_LOOP or GENERATE
    _tokens: "deque[int]" = field(default_factory=deque, repr=False)
    _ready: threading.Event = field(default_factory=threading.Event, repr=False)
    _ended: threading.Event = field(default_factory=threading.Event, repr=False)
    _error: BaseException | None = field(default=None, repr=False)

    def batch_key(self) -> tuple | None:
        """Requests batch together only when they sample alike; seeded or multimodal ones run alone."""
        if self.seed is not None or self.extra_inputs:
            return None
        return (self.do_sample, self.temperature, self.top_p)

    def emit(self, token: int) -> None:
        self.count += 1
        self._tokens.append(token)
        if not self._ready.is_set():      # one wake-up per burst, not per token
            self._ready.set()

    def finish(self, reason: str) -> None:
        if not self.done:
            self.done = True
            self.finish_reason = reason
            self._ended.set()
            self._ready.set()

    def fail(self, exc: BaseException) -> None:
        if not self.done:
            self._error = exc
            self.done = True
            self._ended.set()
            self._ready.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the request ended (its decode saw the end, a limit or the stop); True if it did."""
        return self._ended.wait(timeout)

    def take(self) -> list[int]:
        """The tokens that arrived since the last take."""
        burst = []
        while self._tokens:
            burst.append(self._tokens.popleft())
        return burst

    def tokens(self, bursts: bool = True) -> Iterator[list[int]]:
        """The generated token ids in bursts, as they arrive; raises what the generate call raised.

        ``bursts=False``: one burst at the end (a caller that does not stream sleeps until
        then, instead of taking CPU from the decode on every token).
        """
        if not bursts:
            self._ended.wait()
        while True:
            self._ready.wait()
            self._ready.clear()           # before draining: a token appended after this wakes us again
            ended = self.done
            burst = self.take()
            if burst:
                yield burst
            if ended and not self._tokens:
                break
        if self._error is not None:
            raise self._error


def pull_tokens(weights: Any, request: GenRequest) -> Iterator[list[int]]:
    """Decode a lone greedy request in the caller's thread, a burst per forward pass.

    No worker thread: torch then runs on the one thread that also runs the caller's other
    torch work (on a small CPU, two threads driving torch make both several times slower),
    and leaving the iteration stops the decode at once.
    """
    steps = greedy_steps(weights.model, [request], weights.pad_id)
    try:
        for _ in steps:
            burst = request.take()
            if burst:
                yield burst
    finally:
        steps.close()
        request.finish("cancelled" if request.stop_event.is_set() else "length")
    burst = request.take()
    if burst:
        yield burst


def run_batch(weights: Any, requests: list[GenRequest]) -> None:
    """Decode these requests as one left-padded batch; never raises into the caller thread."""
    try:
        _generate(weights, requests)
    except BaseException as exc:
        for r in requests:
            r.fail(exc)
        return
    for r in requests:     # decoding ended: rows still open ran out of the shared token budget
        r.finish("length")


def plan_engine(weights: Any, request: GenRequest) -> str:
    """Choose the engine for this request (and its batch); a slow path is warned about once.

    Callers plan before they submit, so the warning comes from their own thread (a notebook
    shows it under the cell that asked).
    """
    if request.engine is None:
        engine = GENERATE
        if not request.do_sample and not request.extra_inputs:
            reason = greedy_loop_blocker(weights, _generation_config(weights.model, request))
            if reason is None:
                engine = GREEDY_LOOP
            else:
                warn_slow_path(weights.model, f"greedy decoding runs one generate() call per batch "
                                              f"(finished rows keep computing) because {reason}")
        request.engine = engine
    return request.engine


def _generate(weights: Any, requests: list[GenRequest]) -> None:
    first = requests[0]
    engine = plan_engine(weights, first)     # rows of a batch sample alike: the first decides
    for r in requests:
        r.engine = engine
    if engine == GREEDY_LOOP:
        decode_greedy(weights.model, requests, weights.pad_id)
    else:
        _generate_call(weights, requests, _generation_config(weights.model, first))


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def warn_slow_path(model: Any, reason: str) -> None:
    """Say once per model and reason that an in-process model left its fast path."""
    name = getattr(getattr(model, "config", None), "name_or_path", None) or type(model).__name__
    with _warned_lock:
        if (name, reason) in _warned:
            return
        _warned.add((name, reason))
    warnings.warn(f"{name}: {reason}.", SlowPathWarning, stacklevel=2)


def _generate_call(weights: Any, requests: list[GenRequest], config: Any) -> None:
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


def start_direct(weights: Any, request: GenRequest) -> None:
    """No scheduler: run the request now, alone, on a worker thread."""
    spawn(run_batch, weights, [request], requests=[request])


# -- worker threads: reused, and stopped cleanly at interpreter exit ---------------------------
# A thread that has run torch keeps its OpenMP team, and two teams on a small CPU slow each
# other several-fold (measured: benchmarks/bench_hf_call.py). So work goes to idle workers
# first and a new thread starts only when all are busy: sequential use runs on one thread.
_workers: set[threading.Thread] = set()
_idle: "queue.SimpleQueue[tuple[Callable[..., Any], tuple]]" = queue.SimpleQueue()
_idle_count = 0
_busy: set[threading.Thread] = set()
_pool_lock = threading.Lock()
_live: "weakref.WeakSet[GenRequest]" = weakref.WeakSet()
WORKER_NAME = "workbench-hf-worker"


def track(request: GenRequest) -> None:
    """Make sure an exit stops this request (it waits in a batcher, not yet in a thread)."""
    _live.add(request)


def busy_workers() -> int:
    """Worker threads running a job now (tests check that abandoned turns leave none)."""
    with _pool_lock:
        return len(_busy)


def spawn(target: Callable[..., Any], *args: Any, requests: list[GenRequest] = ()) -> None:
    """Run ``target(*args)`` on an idle worker thread, or on a new one if none is idle."""
    global _idle_count
    _live.update(requests)
    with _pool_lock:
        start = _idle_count == 0
        if not start:
            _idle_count -= 1
    _idle.put((target, args))
    if start:
        thread = threading.Thread(target=_worker, daemon=True, name=WORKER_NAME)
        with _pool_lock:
            _workers.add(thread)
        thread.start()


def _worker() -> None:
    global _idle_count
    me = threading.current_thread()
    while True:
        target, args = _idle.get()
        with _pool_lock:
            _busy.add(me)
        try:
            target(*args)
        except BaseException:       # the job reports its own errors (run_batch never raises)
            pass
        finally:
            with _pool_lock:
                _busy.discard(me)
                _idle_count += 1


@atexit.register
def _stop_workers() -> None:
    # A daemon thread still inside generate() when the interpreter tears down aborts the
    # process ("terminate called without an active exception"): stop them and wait for
    # the busy ones (idle ones wait on the queue and hold no torch state in flight).
    for request in list(_live):
        request.stop_event.set()
    for _ in range(1000):
        with _pool_lock:
            if not _busy:
                return
        threading.Event().wait(0.01)
