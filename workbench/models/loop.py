"""The tool loop as a state machine: after each step, call the model, run tools, or finish.

It holds no I/O. A driver (the sync client, the async client, an agent) asks
``next_step()``, performs the step, and reports back with ``model_done()`` or
``tools_done()``. History is written only at step boundaries, so a failure at any point
leaves it consistent: an assistant message that requested tools enters history together
with the tools' results, never alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from workbench.models.turn import TurnResult


@dataclass(frozen=True)
class CallModel:
    messages: list[dict[str, Any]]
    round: int


@dataclass(frozen=True)
class RunTools:
    calls: list[dict[str, Any]]   # {"id", "name", "arguments"}
    round: int


@dataclass(frozen=True)
class Finish:
    text: str
    reason: str                   # "stop" | "max_rounds" | "tools_not_run"
    turn: TurnResult | None = None


Step = CallModel | RunTools | Finish


@dataclass
class ToolLoop:
    """One chat turn: the model may ask for tools any number of times, up to ``max_rounds``.

    ``history`` is the list to write to (the client's ``messages`` or a scratch list for a
    stateless ``generate``). ``run_tools`` says whether requested tools are executed here;
    when it is False, a turn that requests tools finishes with the request in history.
    """

    history: list[dict[str, Any]]
    run_tools: bool = True
    max_rounds: int = 10
    round: int = 0
    last_turn: TurnResult | None = None
    _pending: dict[str, Any] | None = None
    _finished: Finish | None = None
    turns: list[TurnResult] = field(default_factory=list)
    options: dict[str, Any] | None = None      # the merged generation options (for the call log)
    started_at: float = field(default_factory=time.time)
    sent_len: int = -1                         # len(history) when the turn began: what was sent

    def __post_init__(self) -> None:
        if self.sent_len < 0:
            self.sent_len = len(self.history)

    def next_step(self) -> Step:
        if self._finished is not None:
            return self._finished
        if self._pending is not None:
            return RunTools(self.last_turn.tool_calls, self.round)
        return CallModel(self.history, self.round)

    def model_done(self, turn: TurnResult) -> None:
        self.last_turn = turn
        self.turns.append(turn)
        message = turn.assistant_message()
        if not turn.tool_calls:
            self.history.append(message)
            self._finished = Finish(turn.text, "stop", turn)
        elif not self.run_tools:
            self.history.append(message)
            self._finished = Finish(turn.text, "tools_not_run", turn)
        else:
            self._pending = message

    def tools_done(self, results: list[dict[str, Any]]) -> None:
        """``results``: ``{"id", "name", "content", "is_error"}`` in call order."""
        assert self._pending is not None, "tools_done() without a pending tool request"
        self.history.append(self._pending)
        for result in results:
            self.history.append(tool_message(result))
        self._pending = None
        self.round += 1
        if self.round >= self.max_rounds:
            self._finished = Finish(self.last_turn.text, "max_rounds", self.last_turn)

    @property
    def used_tools(self) -> bool:
        return any(t.tool_calls for t in self.turns)

    @property
    def thinking(self) -> str:
        return "".join(t.thinking for t in self.turns)


def tool_message(result: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": result["id"], "name": result["name"],
            "content": result["content"]}
