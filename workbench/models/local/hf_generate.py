"""The transformers generation engine: one decode for one or many requests.

Batched or not, every in-process HF turn goes through :func:`run_batch`: prompts are
left-padded into one batch and each row ends at its own end of turn, token limit or
cancellation (``stop_event``), so one caller leaving does not stop the others.

- Greedy text batches run our own loop (:mod:`hf_decode`): rows that finish leave the
  batch at once, so a long answer does not keep the short ones' rows computing.
- Sampling (and multimodal) batches run one ``generate`` call: a streamer hands each row's
  tokens to its own :class:`GenRequest` and a stopping criterion ends each row.

Work runs in daemon threads that are stopped and joined at interpreter exit.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from workbench.models.local.hf_decode import decode_greedy, supports_greedy_loop

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
    """Decode these requests as one left-padded batch; never raises into the caller thread."""
    try:
        _generate(weights, requests)
    except BaseException as exc:
        for r in requests:
            r.fail(exc)
        return
    for r in requests:     # decoding ended: rows still open ran out of the shared token budget
        r.finish("length")


def _generate(weights: Any, requests: list[GenRequest]) -> None:
    first = requests[0]
    config = _generation_config(weights.model, first)
    if not first.do_sample and not first.extra_inputs and supports_greedy_loop(weights, config):
        decode_greedy(weights.model, requests, weights.pad_id)
        return
    _generate_call(weights, requests, config)


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


def start_direct(weights: Any, request: GenRequest) -> threading.Thread:
    """No scheduler: run the request now, alone, in its own thread."""
    return spawn(run_batch, weights, [request], requests=[request])


# -- worker threads, stopped cleanly at interpreter exit -----------------------------------------
_workers: set[threading.Thread] = set()
_live: "weakref.WeakSet[GenRequest]" = weakref.WeakSet()


def track(request: GenRequest) -> None:
    """Make sure an exit stops this request (it waits in a batcher, not yet in a thread)."""
    _live.add(request)


def spawn(target: Callable[..., Any], *args: Any, name: str = "workbench-hf-generate",
          requests: list[GenRequest] = ()) -> threading.Thread:
    _live.update(requests)

    def body() -> None:
        try:
            target(*args)
        finally:
            _workers.discard(threading.current_thread())

    thread = threading.Thread(target=body, daemon=True, name=name)
    _workers.add(thread)
    thread.start()
    return thread


@atexit.register
def _stop_workers() -> None:
    # A daemon thread still inside generate() when the interpreter tears down aborts the
    # process ("terminate called without an active exception"): stop them and wait.
    for request in list(_live):
        request.stop_event.set()
    for thread in list(_workers):
        thread.join(timeout=10)
