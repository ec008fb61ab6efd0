"""Answers as HTML: one Markdown renderer for the live view and the saved output.

mistune (the renderer nbconvert uses) with GitHub tables, strikethrough and ``$...$`` /
``$$...$$`` math; math becomes MathML (latex2mathml), which browsers draw natively, so the
live view, a reopened notebook and nbconvert's HTML show formulas without a math library in
the page; fenced code is highlighted by Pygments with inline styles (nothing to load).
Raw HTML in an answer stays escaped and ``javascript:`` links are dropped. Headings are
shifted down two levels so an answer's ``#`` does not outshout the notebook's own.

The live view renders *incrementally*: :class:`LiveAnswer` splits the text at the last
blank line outside a code fence or math block. What is before it is settled (rendered and
sent once); only the open tail is rendered again as tokens arrive, so bytes on the wire
stay close to the answer's size and a long answer costs no more per update than a short one.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

TAIL_RENDER_CHARS = 3000     # an open paragraph longer than this shows as plain text until it settles
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MATH_FENCE = re.compile(r"^ {0,3}\$\$\s*$")


def render(text: str) -> str:
    """The HTML of a Markdown answer (escaped text when mistune is missing)."""
    md = _markdown()
    if md is None:
        return f'<p style="white-space:pre-wrap">{html.escape(text)}</p>'
    return md(text)


def math_html(latex: str, *, block: bool) -> str:
    try:
        from latex2mathml.converter import convert

        return convert(latex, display="block" if block else "inline")
    except Exception:   # ImportError, or LaTeX it cannot read: show the source, never fail
        source = html.escape(f"$${latex}$$" if block else f"${latex}$")
        return f'<code class="wb-math-source">{source}</code>'


def code_html(code: str, language: str | None) -> str:
    escaped = None
    if language:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import get_lexer_by_name

            escaped = highlight(code, get_lexer_by_name(language), HtmlFormatter(nowrap=True, noclasses=True))
        except Exception:   # no Pygments, or a language it does not know
            escaped = None
    body = escaped if escaped is not None else html.escape(code)
    lang = f' class="language-{html.escape(language, quote=True)}"' if language else ""
    return f'<pre class="wb-code"><code{lang}>{body.rstrip(chr(10))}</code></pre>\n'


@functools.cache
def _markdown():
    try:
        import mistune
        from mistune.renderers.html import HTMLRenderer
    except ImportError:
        return None

    class AnswerRenderer(HTMLRenderer):
        def heading(self, text: str, level: int, **attrs: Any) -> str:
            level = min(level + 2, 6)
            return f"<h{level}>{text}</h{level}>\n"

        def block_code(self, code: str, info: str | None = None) -> str:
            language = (info or "").strip().split(None, 1)[0] if (info or "").strip() else None
            return code_html(code, language)

    md = mistune.create_markdown(renderer=AnswerRenderer(escape=True),
                                 plugins=["strikethrough", "table", "math"])
    md.renderer.register("block_math", lambda _r, text: math_html(text, block=True) + "\n")
    md.renderer.register("inline_math", lambda _r, text: math_html(text, block=False))
    return md


def settled_end(text: str, start: int = 0) -> int:
    """The end of the settled part of ``text`` (from ``start``, itself a settled point): just
    after the last blank line that is outside a code fence or a ``$$`` block."""
    fence: str | None = None
    in_math = False
    end = start
    pos = start
    for line in text[start:].splitlines(keepends=True):
        pos += len(line)
        if not line.endswith("\n"):
            break                      # the last line is still being written
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if in_math:
            in_math = not _MATH_FENCE.match(line)
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)[0] * 3
        elif _MATH_FENCE.match(line):
            in_math = True
        elif not stripped:
            end = pos
    return end


class LiveAnswer:
    """The rendered state of one lane's answer in the live view (kernel side)."""

    def __init__(self):
        self.settled_len = 0
        self.settled_html = ""
        self.tail_len = -1
        self.tail_html: str | None = None

    def update(self, text: str, *, final: bool = False) -> dict[str, Any] | None:
        """The ``html`` operation for the text now (None when nothing changed). ``final``:
        the turn is over, so the whole text settles."""
        op: dict[str, Any] = {}
        cut = len(text) if final else settled_end(text, self.settled_len)
        if cut > self.settled_len:
            piece = render(text[self.settled_len:cut])
            op.update(settled=piece, settled_from=self.settled_len, settled_len=cut)
            self.settled_html += piece
            self.settled_len = cut
        tail = text[self.settled_len:]
        if not op and len(tail) == self.tail_len:
            return None
        self.tail_len = len(tail)
        self.tail_html = render(tail) if tail and len(tail) <= TAIL_RENDER_CHARS else ("" if not tail else None)
        op.update(tail=self.tail_html, tail_len=self.tail_len)
        return op

    def full(self) -> dict[str, Any]:
        """Everything, for a view that lost track (a resync)."""
        return {"settled": self.settled_html, "settled_from": 0, "settled_len": self.settled_len,
                "tail": self.tail_html, "tail_len": self.tail_len, "reset": True}
