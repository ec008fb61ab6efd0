"""Reading structure out of an answer's text (shared by %%aimu --format and the scorers)."""

from __future__ import annotations

import re

CODE_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.S)


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of an answer (an unclosed last fence counts: it was cut)."""
    return [b.rstrip("\n") for b in CODE_FENCE.findall(text or "")]


def extract_code(text: str) -> str:
    """The fenced code blocks of an answer (joined), or the whole answer when there are none."""
    blocks = code_blocks(text)
    return "\n\n".join(blocks) if blocks else (text or "").strip()


def json_answer(text: str):
    """(the answer's JSON, None) or (None, what is wrong): a fenced block or the whole text."""
    import json

    try:
        return json.loads(extract_code(text or "")), None
    except ValueError as exc:
        return None, f"The output is not JSON ({exc})."
