"""The async surface: the same names as the sync one, awaited.

    from workbench import aio
    reply = await aio.chat("Hi", model="anthropic:claude-sonnet-4-6")
    client = aio.client("openai:gpt-4.1")
    async for chunk in await client.chat("Tell me a story", stream=True):
        ...
    agent = aio.Agent(client, "You are helpful.", tools=[fetch])   # async or sync tools
    await aio.Parallel([a1, a2, a3], aggregator=summarizer).run("task")
    async_client = aio.client(wb.client("hf:workbench-tiny"))      # shares weights and state

``aio`` holds drivers only: request building, stream parsing, the tool loop and every
agent and workflow decision are the sync surface's own code, driven with ``await``.
Differences from the sync surface: ``run``/``chat``/``generate`` are coroutines, streams
are async iterators, and ``Parallel`` / ``concurrent_tool_calls=True`` use
``asyncio.TaskGroup`` (a failure cancels the siblings still running; every error is
raised together in an ``ExceptionGroup``).

Names are imported on first use (PEP 562): ``import workbench.aio`` loads no SDK,
torch or fastmcp.
"""

from __future__ import annotations

from workbench._lazy import lazy_exports

_LAZY = {
    "chat": "workbench.aio.model_client:chat",
    "client": "workbench.aio.model_client:client",
    "AsyncBaseModelClient": "workbench.aio.model_client:AsyncBaseModelClient",
    "AsyncModelClient": "workbench.aio.model_client:AsyncModelClient",
    "AsyncRunner": "workbench.aio.agents:AsyncRunner",
    "Agent": "workbench.aio.agents:Agent",
    "SkillAgent": "workbench.aio.agents:SkillAgent",
    "OrchestratorAgent": "workbench.aio.agents:OrchestratorAgent",
    "Chain": "workbench.aio.workflows:Chain",
    "Router": "workbench.aio.workflows:Router",
    "Parallel": "workbench.aio.workflows:Parallel",
    "EvaluatorOptimizer": "workbench.aio.workflows:EvaluatorOptimizer",
    "PlanExecuteEvaluator": "workbench.aio.workflows:PlanExecuteEvaluator",
    "MCPClient": "workbench.aio.mcp:MCPClient",
    "save_checkpoint": "workbench.aio.checkpoints:save_checkpoint",
    "load_checkpoint": "workbench.aio.checkpoints:load_checkpoint",
    "auto_checkpoint": "workbench.aio.checkpoints:auto_checkpoint",
    "RunAllFailed": "workbench.aio.driver:RunAllFailed",
    "iterate_in_thread": "workbench.aio.bridge:iterate_in_thread",
    "embedder": "workbench.models.embeddings:embedder",        # await e.aembed([...])
    "image_client": "workbench.aio.images:image_client",
    "AsyncImageClient": "workbench.aio.images:AsyncImageClient",
    "SemanticMemoryStore": "workbench.aio.memory:SemanticMemoryStore",
    "DocumentStore": "workbench.aio.memory:DocumentStore",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
