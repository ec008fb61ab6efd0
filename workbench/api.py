"""The top-level verbs: the direct path for the common tasks."""

from __future__ import annotations

from typing import Any

from workbench.models.client import BaseModelClient, create_client

DEFAULT_MODEL_ENV = "WORKBENCH_MODEL"
OFFLINE_DEFAULT = "hf:workbench-tiny"


def default_model() -> str:
    import os

    return os.environ.get(DEFAULT_MODEL_ENV) or OFFLINE_DEFAULT


def client(model=None, *, system: str | None = None, **kwargs: Any) -> BaseModelClient:
    """A client for ``"provider:model_id"`` or a catalog member (default: $WORKBENCH_MODEL, else workbench-tiny)."""
    return create_client(model if model is not None else default_model(), system=system, **kwargs)


def chat(user_message: str, *, model=None, system: str | None = None, generate_kwargs: dict | None = None,
         stream: bool = False, images: list | None = None, include=None, **kwargs: Any):
    """One-shot: a fresh client, one message, the answer (or a chunk stream)."""
    return client(model, system=system, **kwargs).chat(
        user_message, generate_kwargs=generate_kwargs, stream=stream, images=images, include=include)


def agent(model=None, *, system: str | None = None, tools: list | None = None, **kwargs: Any):
    """An Agent on a fresh client for ``model``."""
    from workbench.agents import Agent

    agent_kwargs = {k: kwargs.pop(k) for k in list(kwargs)
                    if k in ("name", "max_iterations", "continuation_prompt",
                             "reset_messages_on_run", "concurrent_tool_calls")}
    return Agent(client(model, **kwargs), system_message=system, tools=list(tools or []), **agent_kwargs)
