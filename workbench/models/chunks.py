"""StreamChunk: the one chunk type of every stream (clients, agents, workflows, sync and async).

Content by phase:

- ``thinking`` / ``text``: a ``str`` delta.
- ``tool_call``: a dict ``{"id", "name", "arguments"}`` (arguments parsed to a dict when
  they are valid JSON, else the raw string) sent when the model has requested the call,
  before it runs.
- ``tool_result``: a dict ``{"id", "name", "content", "is_error"}`` after the tool ran.
- ``image_progress``: a dict ``{"step", "total"}`` (and optionally ``"preview"``).
- ``done``: a dict ``{"usage", "finish_reason", "elapsed_s", "model"}`` closing one model turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, AsyncIterator, Iterable, Iterator


class Phase(str, Enum):
    THINKING = "thinking"
    TEXT = "text"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    IMAGE_PROGRESS = "image_progress"
    DONE = "done"

    def __str__(self) -> str:  # "text", not "Phase.TEXT", in f-strings and reprs
        return self.value


PHASES = tuple(p.value for p in Phase)


@dataclass(frozen=True, slots=True)
class StreamChunk:
    phase: Phase
    content: Any
    agent: str | None = None
    iteration: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.phase, Phase):
            object.__setattr__(self, "phase", to_phase(self.phase))

    def is_thinking(self) -> bool:
        return self.phase is Phase.THINKING

    def is_text(self) -> bool:
        return self.phase is Phase.TEXT

    def is_tool_call(self) -> bool:
        return self.phase is Phase.TOOL_CALL

    def is_tool_result(self) -> bool:
        return self.phase is Phase.TOOL_RESULT

    def is_done(self) -> bool:
        return self.phase is Phase.DONE

    def tagged(self, agent: str | None, iteration: int) -> "StreamChunk":
        """The same chunk attributed to an agent and iteration (inner tags win)."""
        return StreamChunk(self.phase, self.content,
                           self.agent if self.agent is not None else agent,
                           self.iteration if self.agent is not None else iteration)


def to_phase(value: "str | Phase") -> Phase:
    if isinstance(value, Phase):
        return value
    try:
        return Phase(str(value).lower())
    except ValueError:
        raise ValueError(f"Unknown stream phase {value!r}; valid phases: {', '.join(PHASES)}") from None


def normalize_include(include: "Iterable[str | Phase] | str | Phase | None") -> frozenset[Phase] | None:
    """Validate an ``include=`` argument; ``None`` means every phase."""
    if include is None:
        return None
    if isinstance(include, (str, Phase)):
        include = [include]
    return frozenset(to_phase(p) for p in include)


def filter_chunks(chunks: Iterable[StreamChunk], include) -> Iterator[StreamChunk]:
    """The one place ``include=`` is applied to a sync stream."""
    wanted = normalize_include(include)
    if wanted is None:
        yield from chunks
        return
    for chunk in chunks:
        if chunk.phase in wanted:
            yield chunk


async def afilter_chunks(chunks: AsyncIterator[StreamChunk], include) -> AsyncIterator[StreamChunk]:
    """The async twin of :func:`filter_chunks` (same predicate)."""
    wanted = normalize_include(include)
    async for chunk in chunks:
        if wanted is None or chunk.phase in wanted:
            yield chunk
