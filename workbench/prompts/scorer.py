"""Scorers: how good is an output for a task? (Used by PlanExecuteEvaluator and tuners.)

A scorer is anything with ``score(task, output, criteria=None) -> Score``. ``Score.value``
is in [0, 1]; ``passed`` may be decided by the scorer, else by a threshold; ``feedback``
says what to fix and is fed back into the next plan.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class Score:
    value: float
    feedback: str = ""
    passed: bool | None = None      # None: decided by the caller's threshold

    def __post_init__(self) -> None:
        self.value = min(1.0, max(0.0, float(self.value)))

    def is_pass(self, threshold: float = 0.7, keyword: str | None = None) -> bool:
        if keyword is not None and re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", self.feedback):
            return True
        if self.passed is not None:
            return self.passed
        return self.value >= threshold

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Scorer(Protocol):
    def score(self, task: str, output: str, criteria: str | None = None) -> Score: ...


@dataclass
class KeywordScorer:
    """The share of ``keywords`` found in the output (``require_all``: all or nothing)."""

    keywords: list[str]
    case_sensitive: bool = False
    require_all: bool = False
    forbidden: list[str] = field(default_factory=list)

    def score(self, task: str, output: str, criteria: str | None = None) -> Score:
        def norm(s: str) -> str:
            return s if self.case_sensitive else s.lower()

        text = norm(output)
        missing = [k for k in self.keywords if norm(k) not in text]
        present_forbidden = [k for k in self.forbidden if norm(k) in text]
        value = 1.0 if not self.keywords else 1 - len(missing) / len(self.keywords)
        if present_forbidden:
            value = 0.0
        notes = []
        if missing:
            notes.append("Missing: " + ", ".join(missing) + ".")
        if present_forbidden:
            notes.append("Must not contain: " + ", ".join(present_forbidden) + ".")
        passed = (not missing and not present_forbidden) if self.require_all else None
        return Score(value, " ".join(notes) or "All keywords present.", passed)


JUDGE_PROMPT = """You are grading an answer.

Task:
{task}

Criteria:
{criteria}

Answer:
{output}

Reply in exactly this form:
SCORE: <a number from 0 to 10>
FEEDBACK: <what to improve, or "none">"""

_SCORE = re.compile(r"SCORE\s*[:=]\s*([0-9]+(?:\.[0-9]+)?)\s*(?:/\s*(100|10|1)\b)?", re.IGNORECASE)
_FEEDBACK = re.compile(r"FEEDBACK\s*[:=]\s*(.*)", re.IGNORECASE | re.DOTALL)


@dataclass
class LLMJudgeScorer:
    """Asks a model to grade; uses ``client.generate`` so the judge keeps no history."""

    client: Any
    criteria: str = "Correct, complete and clear."
    prompt_template: str = JUDGE_PROMPT

    def score(self, task: str, output: str, criteria: str | None = None) -> Score:
        reply = self.client.generate(self.prompt_template.format(
            task=task, output=output, criteria=criteria or self.criteria))
        return parse_judgement(reply)


def parse_judgement(reply: str) -> Score:
    """A Score from a judge's ``SCORE: x`` / ``FEEDBACK: ...`` reply (0-10 scale unless it says /1 or /100)."""
    m = _SCORE.search(reply or "")
    if m is None:
        return Score(0.0, f"The judge gave no SCORE line; its reply was: {(reply or '')[:300]}", passed=False)
    number = float(m.group(1))
    scale = float(m.group(2)) if m.group(2) else (10.0 if number > 1 else 1.0)
    fb = _FEEDBACK.search(reply)
    return Score(number / scale, fb.group(1).strip() if fb else "")
