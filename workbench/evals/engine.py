"""The experiment engine: one async core for benchmarks (and, later, tuners).

A *job* is one (model, sample, epoch, prompt version). ``execute`` runs jobs with at most
``max_concurrency`` in flight per model; each in-flight job holds its own fork of the
model's client (its own conversation state, the same connection or weights), so rows
never see each other's history or usage. Cloud clients are awaited through their SDK's
async object (one connection pool per model, no thread per call); in-process models run in
worker threads and batch through their scheduler; ``workbench.aio`` clients are awaited. Each model's
concurrency adapts (``AdaptiveLimit``): a rate limit that outlasts the client's own retries
halves it and waits Retry-After, then the job is tried again. A job that fails otherwise
becomes a row with ``error`` set and the run goes on; each finished row is
handed to ``on_row`` at once (the store writes it). Ctrl-C cancels what is in flight;
finished rows are already stored.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from workbench.errors import JudgeParseError, RateLimitError


@dataclass(frozen=True)
class Job:
    model: str
    sample_id: str
    epoch: int
    prompt_version: int
    prompt: str
    row: Mapping[str, Any]

    @property
    def key(self) -> tuple:
        return (self.model, self.sample_id, self.epoch, self.prompt_version)


class ForkPool:
    """Forks of one client, one per concurrent job, made on demand and reused.

    Forks of an in-process client without a scheduler share one
    ``InferenceScheduler(max_concurrent=max_concurrency)``, so concurrent rows batch into
    one ``generate`` (transformers) or share a pool of contexts (llama.cpp) instead of
    decoding side by side. Forks of a cloud client share one async SDK object made in the
    run's event loop (``lead``), closed by ``aclose()`` when the run ends.
    """

    def __init__(self, client: Any, max_concurrency: int = 1):
        self.client = client
        self.max_concurrency = max_concurrency
        self.idle: list[Any] = []
        self.scheduler: Any = None
        self.lead: Any = None

    def take(self) -> Any:
        if self.idle:
            return self.idle.pop()
        from workbench.agents.runner import fork_client

        if inspect.iscoroutinefunction(getattr(self.client, "generate", None)):
            return self.client      # an aio client: its calls hold no shared per-call state
        system = getattr(self.client, "system_message", None)       # forks keep the system prompt
        if _awaitable_turn(self.client):
            if self.lead is None:   # never the user's client: its async SDK would die with this loop
                self.lead = fork_client(self.client, system)
                self.lead.sdk(asynchronous=True)
            return self.lead.fork(system, share_async=True)
        fork = fork_client(self.client, system)
        if getattr(fork, "cache_entry", None) is not None and getattr(fork, "scheduler", "n/a") is None:
            if self.scheduler is None:
                from workbench.models.local.scheduler import InferenceScheduler

                self.scheduler = InferenceScheduler(max_concurrent=self.max_concurrency)
            fork.scheduler = self.scheduler
        return fork

    def give(self, fork: Any) -> None:
        if fork is not self.client:
            self.idle.append(fork)

    async def aclose(self) -> None:
        """Close the async connections the run's forks shared (inside the run's loop)."""
        lead, self.lead, self.idle = self.lead, None, []
        if lead is not None:
            await lead.aclose()

    async def call(self, prompt: str, generate_kwargs: dict | None, executor) -> dict[str, Any]:
        """One model call on a fork of its own: output, thinking, usage, latency."""
        client = self.take()
        try:
            return await _call(client, prompt, generate_kwargs, executor)
        finally:
            self.give(client)


class AdaptiveLimit:
    """A per-model concurrency limit that backs off on rate limits (AIMD).

    A call that still fails with RateLimitError after the client's own retries halves the
    limit (at least 1) and waits the server's Retry-After (or a second) before that job is
    tried again; every ``limit`` successes in a row raise it by one, up to the ceiling.
    """

    def __init__(self, ceiling: int):
        self.ceiling = ceiling
        self.limit = ceiling
        self.active = 0
        self.streak = 0
        self.backoffs = 0
        self._quiet_until = 0.0
        self._cond = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.active < self.limit)
            self.active += 1

    async def release(self, *, ok: bool) -> None:
        async with self._cond:
            self.active -= 1
            if ok:
                self.streak += 1
                if self.streak >= self.limit and self.limit < self.ceiling:
                    self.limit += 1
                    self.streak = 0
            else:
                self.streak = 0
            # wake as many waiters as there are free slots: notify_all would wake every
            # queued job (thousands in a big run) on every release, O(n) per row
            self._cond.notify(max(0, self.limit - self.active))

    async def back_off(self, retry_after: float | None) -> None:
        wait = retry_after if retry_after is not None else 1.0
        async with self._cond:
            now = time.monotonic()
            # one halving per burst: the calls that were in flight together hit the same limit
            if now >= self._quiet_until:
                self.limit = max(1, self.limit // 2)
                self.backoffs += 1
                self._quiet_until = now + wait
            self.streak = 0
        await asyncio.sleep(wait)


RATE_LIMIT_RETRIES = 3       # re-queues of one job after the client's own retries gave up


def _call_sync(client: Any, prompt: str, generate_kwargs: dict | None) -> dict[str, Any]:
    started = time.perf_counter()
    output = client.generate(prompt, generate_kwargs=generate_kwargs)
    return {"output": output, "thinking": getattr(client, "last_thinking", "") or "",
            "usage": dict(getattr(client, "last_usage", {}) or {}), "latency_s": time.perf_counter() - started}


def _awaitable_turn(client: Any) -> bool:
    """A sync client whose model call has an async twin (cloud SDKs): awaited, no thread."""
    return callable(getattr(client, "_aturn", None)) and callable(getattr(client, "sdk", None))


async def _call(client: Any, prompt: str, generate_kwargs: dict | None, executor) -> dict[str, Any]:
    if inspect.iscoroutinefunction(getattr(client, "generate", None)):
        started = time.perf_counter()
        output = await client.generate(prompt, generate_kwargs=generate_kwargs)
        # one aio client serves every concurrent row, so its last_usage / last_thinking
        # belong to whichever call ended last: not recorded rather than misattributed
        return {"output": output, "thinking": "", "usage": {}, "latency_s": time.perf_counter() - started}
    if _awaitable_turn(client):
        from workbench.aio.model_client import AsyncModelClient

        started = time.perf_counter()
        output = await AsyncModelClient(client).generate(prompt, generate_kwargs=generate_kwargs)
        return {"output": output, "thinking": client.last_thinking or "", "usage": dict(client.last_usage or {}),
                "latency_s": time.perf_counter() - started}
    loop = asyncio.get_running_loop()
    # the thread runs in this task's context: the call log sees the run's id
    return await loop.run_in_executor(executor, contextvars.copy_context().run, _call_sync, client, prompt,
                                      generate_kwargs)


def describe_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, JudgeParseError) and exc.reply:
        text += f" | judge reply: {exc.reply[:500]}"
    return text


async def run_job(job: Job, pool: Any, scorer: Any, generate_kwargs: dict | None, run_id: str,
                  executor=None, cache: Any = None) -> dict[str, Any]:
    """One row: the call (or a cache hit), then the score; any failure is the row's error."""
    from workbench.evals.cache import request_key

    row: dict[str, Any] = {"run_id": run_id, "model": job.model, "sample_id": job.sample_id, "epoch": job.epoch,
                           "prompt_version": job.prompt_version, "prompt": job.prompt, "cache_hit": False}
    key = request_key(pool.client, job.prompt, generate_kwargs, job.epoch) if cache is not None else None
    started = time.perf_counter()
    try:
        result = cache.get(key) if cache is not None else None
    except Exception:          # a cache that fails costs its hits, not the run
        result = None
    if result is not None:
        row["cache_hit"] = True
        result["latency_s"] = time.perf_counter() - started
    else:
        try:
            result = await pool.call(job.prompt, generate_kwargs, executor)
        except RateLimitError:
            raise                  # the caller backs off and tries the job again
        except Exception as exc:
            row.update(error=describe_error(exc), created_at=time.time())
            return row             # errors are never cached
        if cache is not None:
            try:
                cache.put(key, result)
            except Exception:  # the answer is paid for: the row keeps it even if the cache cannot
                pass
    usage = result["usage"]
    row.update(output=result["output"], thinking=result["thinking"], latency_s=result["latency_s"],
               input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens"))
    try:
        scored_row = {**job.row, "__prompt__": job.prompt}
        if inspect.iscoroutinefunction(getattr(scorer, "ascore_row", None)):   # DeepEvalScorer: awaited
            score = await scorer.ascore_row(result["output"], scored_row)
        elif getattr(scorer, "blocking", True):  # a judge's call, a user's function: a thread
            score = await asyncio.get_running_loop().run_in_executor(
                executor, contextvars.copy_context().run, scorer.score_row, result["output"], scored_row)
        else:                                    # a comparison of strings: in the loop
            score = scorer.score_row(result["output"], scored_row)
        row.update(score=score.value, passed=score.is_pass(), feedback=score.feedback)
    except Exception as exc:   # a judge without a score, a scorer bug: the row records it
        row["error"] = describe_error(exc)
    row["created_at"] = time.time()
    return row


async def execute(jobs: list[Job], clients: Mapping[str, Any], scorer: Any, *, run_id: str,
                  max_concurrency: int, generate_kwargs: dict | None,
                  on_row: Callable[[dict[str, Any]], None], cache: Any = None,
                  pools: Mapping[str, Any] | None = None) -> dict[str, dict[str, int]]:
    """Run ``jobs``; ``on_row`` gets each finished row. Returns, per model, the final
    concurrency limit and how often it backed off."""
    from concurrent.futures import ThreadPoolExecutor

    # ``pools``: how each model is called (forks in this process by default; the Ray
    # executor passes actor pools): anything with ``client`` and ``async call(...)``.
    pools = dict(pools) if pools is not None else {name: ForkPool(client, max_concurrency)
                                                   for name, client in clients.items()}
    limits = {name: AdaptiveLimit(max_concurrency) for name in clients}
    # Sync clients block a thread per call: enough threads for every slot (asyncio's default
    # pool has cpu + 4, which would cap the concurrency asked for).
    executor = ThreadPoolExecutor(max_workers=max_concurrency * len(clients) + 1, thread_name_prefix="bench")

    async def one(job: Job) -> None:
        limit = limits[job.model]
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            await limit.acquire()
            try:
                row = await run_job(job, pools[job.model], scorer, generate_kwargs, run_id, executor, cache)
            except RateLimitError as exc:
                await limit.release(ok=False)
                if attempt == RATE_LIMIT_RETRIES:
                    on_row({"run_id": run_id, "model": job.model, "sample_id": job.sample_id, "epoch": job.epoch,
                            "prompt_version": job.prompt_version, "prompt": job.prompt, "error": describe_error(exc),
                            "created_at": time.time()})
                    return
                await limit.back_off(getattr(exc, "retry_after", None))
                continue
            await limit.release(ok=row.get("error") is None)
            on_row(row)
            return

    from workbench.log.runtime import context

    with context(run_id=run_id):        # every task copies it: each call in the log names its run
        tasks = [asyncio.ensure_future(one(job)) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        executor.shutdown(wait=False, cancel_futures=True)
        for pool in pools.values():
            close = getattr(pool, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:    # a connection that will not close cleanly costs nothing stored
                    pass
    return {name: {"limit": l.limit, "backoffs": l.backoffs} for name, l in limits.items()}
