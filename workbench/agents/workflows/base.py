"""What every workflow shares: histories merged from its sub-runners, and restore.

A workflow's ``checkpoint()`` holds every sub-runner's history (keyed by runner name) and
its own ``position``; ``restore`` gives each sub-runner its history back and remembers
the position, so the next ``run()`` resumes there (then the position is consumed).
"""

from __future__ import annotations

from typing import Any

from workbench.agents.runner import Runner, check_state, merged_messages, restore_sub


class Workflow(Runner):
    _resume: dict[str, Any] | None = None

    @property
    def messages(self) -> dict[str, list[dict[str, Any]]]:
        return merged_messages(self.sub_runners())

    def restore(self, state: Any, **kwargs: Any) -> None:
        self._restore_state(check_state(self, state))

    def _restore_state(self, state: dict[str, Any]) -> None:
        saved = state["messages"]
        for sub in self.sub_runners():
            restore_sub(sub, saved, (state.get("sub_positions") or {}).get(sub.name))
        position = state.get("position") or {}
        self._resume = dict(position) if position and not position.get("completed") else None

    def checkpoint(self) -> dict[str, Any]:
        state = super().checkpoint()
        state["sub_positions"] = {s.name: s._position() for s in self.sub_runners()}
        return state

    def _take_resume(self) -> dict[str, Any] | None:
        """The position to resume from, once (a resumed run consumes it)."""
        resume, self._resume = self._resume, None
        return resume


def agent_from_client(client, system: str | None, name: str, **kwargs: Any):
    """An Agent on a fork of ``client`` (its own history, shared connection and weights)."""
    from workbench.agents.agent import Agent
    from workbench.agents.runner import fork_client

    return Agent(fork_client(client, system), system_message=system, name=name, **kwargs)
