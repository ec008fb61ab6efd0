"""aio twins of the agents: the sync classes' logic, driven by the async driver.

    agent = aio.Agent(aio.client("openai:gpt-4.1"), "You are helpful.", tools=[fetch])
    answer = await agent.run("Fetch example.com")

Tools may be ``async def`` (awaited) or plain ``def`` (run in a thread).
``concurrent_tool_calls=True`` runs one turn's calls in a TaskGroup.
"""

from __future__ import annotations

from workbench.agents import agent as _agent
from workbench.agents import orchestrator as _orchestrator
from workbench.agents import skills as _skills
from workbench.aio.runner import AsyncRunner


class Agent(AsyncRunner, _agent.Agent):
    """Async twin of :class:`workbench.agents.Agent` (same fields, ``await agent.run(task)``)."""


class SkillAgent(Agent, _skills.SkillAgent):
    """Async twin of :class:`workbench.agents.SkillAgent`."""


class OrchestratorAgent(Agent, _orchestrator.OrchestratorAgent):
    """Async twin of :class:`workbench.agents.OrchestratorAgent`; aio workers become async tools,
    so with ``concurrent_tool_calls=True`` (the ``assemble`` default) they run at once."""
