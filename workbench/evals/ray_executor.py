"""Rows on a Ray actor pool: ``bench.run(clients, executor="ray", ray_actors=4)``.

Each actor builds its own workbench client once, from the client's *spec* (model string,
base URL, system message, default options), so weights load once per actor, not per row;
the driver keeps everything else: it sends prompts, awaits the answers, scores them, writes
the store and emits events (actors never touch the store). Ray is the ``ray`` extra. On
this machine the tests start a local cluster (``ray.init(num_cpus=2)``); to use an
existing cluster, call ``ray.init(address="ray://head:10001")`` (or ``"auto"``) before
``bench.run``: the executor uses whatever cluster is initialised and starts a local one
only when none is.
"""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace
from typing import Any

from workbench.errors import DataError, MissingDependencyError


def client_spec(client: Any) -> dict[str, Any]:
    """What an actor needs to build an equivalent client (raises DataError if it cannot)."""
    if isinstance(client, str):
        return {"model": client, "system": None, "kwargs": {}}
    resolved = getattr(client, "resolved", None)
    if resolved is None:
        raise DataError(f"{type(client).__name__} cannot be rebuilt in a Ray actor: pass a model string "
                        "or a client made by wb.client(...).")
    kwargs: dict[str, Any] = {}
    base_url = getattr(client, "base_url", None)
    if base_url and not getattr(resolved, "base_url", None):
        kwargs["base_url"] = base_url
    if getattr(client, "default_generate_kwargs", None):
        kwargs["generate_kwargs"] = dict(client.default_generate_kwargs)
    model = resolved.model_string
    if getattr(resolved, "base_url", None):
        model = f"{model}@{resolved.base_url}"
    return {"model": model, "system": getattr(client, "system_message", None), "kwargs": kwargs}


def _actor_class():
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray") from exc

    @ray.remote
    class RowActor:
        def __init__(self, spec: dict[str, Any]):
            import workbench as wb

            self.client = wb.client(spec["model"], system=spec["system"], **spec["kwargs"])

        def call(self, prompt: str, generate_kwargs: dict | None) -> dict[str, Any]:
            from workbench.evals.engine import _call_sync

            return _call_sync(self.client, prompt, generate_kwargs)

    return ray, RowActor


class RayPool:
    """``actors`` Ray actors for one model; calls go round-robin (each actor runs one at a time)."""

    def __init__(self, client: Any, actors: int):
        ray, actor_class = _actor_class()
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
        spec = client_spec(client)
        self.client = SimpleNamespace(model_string=spec["model"], base_url=spec["kwargs"].get("base_url"),
                                      system_message=spec["system"], tools=[],
                                      default_generate_kwargs=spec["kwargs"].get("generate_kwargs") or {})
        self.actors = [actor_class.remote(spec) for _ in range(max(1, actors))]
        self._next = itertools.cycle(self.actors)
        self._ray = ray

    async def call(self, prompt: str, generate_kwargs: dict | None, executor) -> dict[str, Any]:
        ref = next(self._next).call.remote(prompt, generate_kwargs)
        try:
            return await asyncio.wrap_future(ref.future())
        except self._ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)    # the actor's own exception (RateLimitError...)
            raise (cause if isinstance(cause, BaseException) else exc) from None

    def close(self) -> None:
        for actor in self.actors:
            self._ray.kill(actor)


def ray_pools(clients: dict[str, Any], actors: int) -> dict[str, RayPool]:
    """One pool per model; a model string is checked here, in the driver, before any actor
    starts, and pools already started are stopped if a later one fails."""
    from workbench.models.strings import resolve_model

    for client in clients.values():
        if isinstance(client, str):
            resolve_model(client)          # a bad string fails now, not as a RayActorError per row
    pools: dict[str, RayPool] = {}
    try:
        for name, client in clients.items():
            pools[name] = RayPool(client, actors)
    except BaseException:
        for pool in pools.values():
            pool.close()
        raise
    return pools
