"""Router: classify the task with a routing agent, then hand it to one handler.

    router = Router.from_client(client, {"billing": "You handle billing questions.",
                                         "tech": "You fix technical problems."},
                                fallback_prompt="You answer general questions.")
    router.run("My invoice is wrong")      # -> routed to "billing"

The routing agent is asked for one route name; the first route named in its reply wins
(an exact answer first). No match goes to ``fallback``; with no fallback a RoutingError
lists the routes. ``router.last_route`` says where the last task went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Generator

from workbench.agents.effects import Checkpoint, Run
from workbench.agents.runner import Runner, unique_names
from workbench.agents.workflows.base import Workflow, agent_from_client
from workbench.errors import ConfigurationError, WorkbenchError

ROUTER_SYSTEM = "You are a router. You classify requests and answer with a single category name."


class RoutingError(WorkbenchError):
    """The routing agent named no known route and the Router has no fallback."""


def routing_prompt(task: str, routes: list[str]) -> str:
    return (f"Classify the request into exactly one of these categories: {', '.join(routes)}.\n"
            f"Answer with the category name only.\n\nRequest:\n{task}")


def match_route(reply: str, routes: list[str]) -> str | None:
    """The route a reply names: an exact answer first, else the earliest route mentioned."""
    cleaned = reply.strip().strip(".\"'`*").strip().lower()
    for route in routes:
        if cleaned == route.lower():
            return route
    hits = []
    for route in routes:
        m = re.search(rf"(?<![\w-]){re.escape(route.lower())}(?![\w-])", reply.lower())
        if m:
            hits.append((m.start(), route))
    return min(hits)[1] if hits else None


@dataclass(eq=False)
class Router(Workflow):
    routing_agent: Runner
    handlers: dict[str, Runner]
    name: str = "router"
    fallback: Runner | None = None
    last_route: str | None = field(default=None, init=False)
    stage: str = field(default="idle", init=False)       # "classify" | "dispatch" | "done"

    def __post_init__(self) -> None:
        if not self.handlers:
            raise ConfigurationError("A Router needs at least one handler (handlers={'route': runner}).")
        unique_names(self.sub_runners(), "A Router's routing agent, handlers and fallback")

    @classmethod
    def from_client(cls, client, routes: dict[str, str], *, fallback_prompt: str | None = None,
                    routing_system: str = ROUTER_SYSTEM, name: str = "router") -> "Router":
        """Handlers from ``{route: system message}``, all on forks of ``client``."""
        handlers = {r: agent_from_client(client, p, f"{name}_{r}", reset_messages_on_run=True)
                    for r, p in routes.items()}
        fallback = agent_from_client(client, fallback_prompt, f"{name}_fallback", reset_messages_on_run=True) \
            if fallback_prompt else None
        return cls(agent_from_client(client, routing_system, f"{name}_classifier", reset_messages_on_run=True),
                   handlers, name=name, fallback=fallback)

    def sub_runners(self) -> list[Runner]:
        subs = [self.routing_agent, *self.handlers.values()]
        return subs + ([self.fallback] if self.fallback is not None else [])

    def _logic(self, task: str, *, images: list | None = None,
               generate_kwargs: dict | None = None) -> Generator[Any, Any, str]:
        resume = self._take_resume()
        routes = list(self.handlers)
        if resume and resume.get("stage") == "dispatch":
            route = resume.get("route")
        else:
            self.stage = "classify"
            reply = yield Run(self.routing_agent, routing_prompt(task, routes), None, generate_kwargs)
            route = match_route(reply, routes)
        self.last_route, self.stage = route, "dispatch"
        yield Checkpoint()
        handler = self.handlers.get(route) if route is not None else None
        if handler is None:
            if self.fallback is None:
                raise RoutingError(f"Router {self.name!r} could not route the task (routes: {', '.join(routes)}); "
                                   "give it a fallback= runner or a clearer routing prompt.")
            self.last_route, handler = "fallback", self.fallback
        answer = yield Run(handler, task, images, generate_kwargs)
        self.stage = "done"
        return answer

    def _position(self) -> dict[str, Any]:
        return {"stage": self.stage, "route": self.last_route, "completed": self.stage == "done"}
