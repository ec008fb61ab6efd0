"""ThinkSplitter: inline ``<think>...</think>`` tags in a text stream, split into thinking and text.

Models served without a reasoning parser (vLLM, llama.cpp, Ollama's raw templates, our
in-process models) write their reasoning inline. This splitter is incremental: tags may
arrive cut across deltas (``"<thi"`` then ``"nk>"``), so a possible tag prefix at the end
of a delta is held back until the next delta decides it.

A ``<think>`` inside a Markdown code fence (or right after a backtick, as inline code) is
text about the tag, not thinking, and stays text. Some chat templates pre-open the
``<think>`` tag in the prompt, so the generated stream *starts* inside thinking: pass
``start_in_thinking=True``.
"""

from __future__ import annotations

from workbench.models.chunks import Phase, StreamChunk

OPEN = "<think>"
CLOSE = "</think>"
FENCE = "```"


def _held_suffix(text: str, markers: tuple[str, ...]) -> int:
    """Length of the longest end of ``text`` that could be the start of a marker."""
    best = 0
    for marker in markers:
        for n in range(min(len(marker) - 1, len(text)), best, -1):
            if text.endswith(marker[:n]):
                best = n
                break
    return best


class ThinkSplitter:
    """Feed text deltas, get thinking/text chunks; ``flush()`` at the end of the stream."""

    def __init__(self, start_in_thinking: bool = False):
        self.in_thinking = start_in_thinking
        self.in_fence = False
        self._buffer = ""
        # Whitespace right after <think> and right after </think> is layout, not content.
        self._strip_leading = True

    def feed(self, text: str) -> list[StreamChunk]:
        if not text:
            return []
        if not (self._buffer or self._strip_leading or self.in_thinking) and "<" not in text and "`" not in text:
            return [StreamChunk(Phase.TEXT, text)]   # the common case: plain answer text
        self._buffer += text
        out: list[tuple[Phase, str]] = []
        while self._step(out):
            pass
        return _merge(out)

    def flush(self) -> list[StreamChunk]:
        """Emit whatever is held back (an unfinished tag is plain content of the current phase)."""
        rest, self._buffer = self._buffer, ""
        if self._strip_leading:
            rest = rest.lstrip()
        if not rest:
            return []
        return [StreamChunk(Phase.THINKING if self.in_thinking else Phase.TEXT, rest)]

    # -- one decision; returns True when it consumed a marker and should run again -----------
    def _step(self, out: list[tuple[Phase, str]]) -> bool:
        if self._strip_leading:
            self._buffer = self._buffer.lstrip()
            if not self._buffer:
                return False
            self._strip_leading = False
        buf = self._buffer
        if self.in_thinking:
            end = buf.find(CLOSE)
            if end >= 0:
                self._emit(out, Phase.THINKING, buf[:end].rstrip())
                self._buffer = buf[end + len(CLOSE):]
                self.in_thinking = False
                self._strip_leading = True
                return True
            # Hold back a possible "</thi" and trailing whitespace (it may precede </think>).
            held = _held_suffix(buf, (CLOSE,))
            head = buf[:len(buf) - held]
            keep = held + len(head) - len(head.rstrip())
            self._emit(out, Phase.THINKING, buf[:len(buf) - keep])
            self._buffer = buf[len(buf) - keep:]
            return False
        fence = buf.find(FENCE)
        think = -1 if self.in_fence else self._find_open(buf)
        if fence >= 0 and (think < 0 or fence < think):
            cut = fence + len(FENCE)
            self._emit(out, Phase.TEXT, buf[:cut])
            self._buffer = buf[cut:]
            self.in_fence = not self.in_fence
            return True
        if think >= 0:
            self._emit(out, Phase.TEXT, buf[:think])
            self._buffer = buf[think + len(OPEN):]
            self.in_thinking = True
            self._strip_leading = True
            return True
        markers = (FENCE,) if self.in_fence else (FENCE, OPEN)
        keep = _held_suffix(buf, markers)
        self._emit(out, Phase.TEXT, buf[:len(buf) - keep])
        self._buffer = buf[len(buf) - keep:]
        return False

    @staticmethod
    def _find_open(buf: str) -> int:
        start = 0
        while True:
            i = buf.find(OPEN, start)
            if i <= 0 or buf[i - 1] != "`":   # `<think>` in inline code is literal
                return i
            start = i + 1

    @staticmethod
    def _emit(out: list[tuple[Phase, str]], phase: Phase, text: str) -> None:
        if text:
            out.append((phase, text))


def _merge(parts: list[tuple[Phase, str]]) -> list[StreamChunk]:
    merged: list[tuple[Phase, str]] = []
    for phase, text in parts:
        if merged and merged[-1][0] is phase:
            merged[-1] = (phase, merged[-1][1] + text)
        else:
            merged.append((phase, text))
    return [StreamChunk(phase, text) for phase, text in merged]


def split_thinking(text: str, start_in_thinking: bool = False) -> tuple[str, str]:
    """``(thinking, text)`` of a whole response (the non-streaming case)."""
    splitter = ThinkSplitter(start_in_thinking)
    chunks = splitter.feed(text) + splitter.flush()
    thinking = "".join(c.content for c in chunks if c.phase is Phase.THINKING)
    answer = "".join(c.content for c in chunks if c.phase is Phase.TEXT)
    return thinking, answer
