"""Scorers: how good is an output? For an agent's task, and for a data set's row.

An agent-side scorer has ``score(task, output, criteria=None) -> Score`` (PlanExecuteEvaluator
uses it); a row scorer has ``score_row(output, row) -> Score`` and ``columns`` (the data
columns it reads, checked before a benchmark sends anything). ``Score.value`` is in [0, 1];
``passed`` may be decided by the scorer, else by a threshold; ``feedback`` says what to fix.
A Score unpacks as AIMU's ``(score, feedback)`` pair.

Row scorers: ExactMatchScorer, ContainsScorer, RegexScorer, NumericScorer, JSONFieldScorer,
FunctionScorer, and LLMJudgeScorer (both kinds). A judge reply without a score raises
JudgeParseError with the raw reply: the benchmark records it as a row error, never as a
made-up score.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Protocol, runtime_checkable

from workbench.errors import DataError, JudgeParseError


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

    def __iter__(self):                      # score, feedback = scorer.score(...)
        return iter((self.value, self.feedback))


@runtime_checkable
class Scorer(Protocol):
    def score(self, task: str, output: str, criteria: str | None = None) -> Score: ...


@runtime_checkable
class RowScorer(Protocol):
    """``blocking`` (optional, default True): False for a scorer that only compares strings,
    which a benchmark then calls in its event loop instead of a worker thread. A scorer
    with ``async def ascore_row(output, row)`` is awaited instead (DeepEvalScorer)."""

    columns: tuple[str, ...]

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score: ...


def check_columns(scorer: Any, columns: list[str]) -> None:
    """DataError before a run when a scorer reads a column the data does not have."""
    missing = [c for c in getattr(scorer, "columns", ()) if c not in columns]
    if missing:
        raise DataError(f"{type(scorer).__name__} reads the column(s) {', '.join(missing)}, which the data does "
                        f"not have. Columns: {', '.join(columns) or '(none)'}. Pass target='COLUMN' for the "
                        "column that holds the expected answer.")


class _ReadsTarget:
    """A row scorer that compares against one column, ``target``."""

    target: str
    blocking: ClassVar[bool] = False       # string comparisons: no thread needed

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.target,)


def _normalize(text: Any, case_sensitive: bool) -> str:
    out = " ".join(str(text).split()).strip()
    return out if case_sensitive else out.lower()


@dataclass
class ExactMatchScorer(_ReadsTarget):
    """1 when the output equals the ``target`` column (whitespace collapsed; case-insensitive
    unless ``case_sensitive``; a trailing period ignored)."""

    target: str = "expected"
    case_sensitive: bool = False

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        got, want = (_normalize(x, self.case_sensitive).rstrip(".") for x in (output, row[self.target]))
        ok = got == want
        return Score(1.0 if ok else 0.0, "" if ok else f"Expected {row[self.target]!r}.", ok)


@dataclass
class ContainsScorer(_ReadsTarget):
    """1 when the ``target`` column's text appears in the output."""

    target: str = "expected"
    case_sensitive: bool = False

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        ok = _normalize(row[self.target], self.case_sensitive) in _normalize(output, self.case_sensitive)
        return Score(1.0 if ok else 0.0, "" if ok else f"Does not contain {row[self.target]!r}.", ok)


@dataclass
class RegexScorer:
    """1 when ``pattern`` matches the output (``target``: compare the first group to a column)."""

    pattern: str
    target: str | None = None
    flags: int = re.IGNORECASE
    blocking: ClassVar[bool] = False

    def __post_init__(self) -> None:
        try:
            self._regex = re.compile(self.pattern, self.flags)
        except re.error as exc:
            raise DataError(f"RegexScorer: the pattern {self.pattern!r} does not compile ({exc}).") from None

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.target,) if self.target else ()

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        m = self._regex.search(output or "")
        if m is None:
            return Score(0.0, f"No match for {self.pattern!r}.", False)
        if self.target is None:
            return Score(1.0, "", True)
        got = m.group(1) if m.groups() else m.group(0)
        ok = _normalize(got, False) == _normalize(row[self.target], False)
        return Score(1.0 if ok else 0.0, "" if ok else f"Matched {got!r}, expected {row[self.target]!r}.", ok)


_NUMBER = re.compile(r"[-+]?(?:\d+(?:[.,]\d+)*(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass
class NumericScorer(_ReadsTarget):
    """1 when the last number in the output is within ``tolerance`` (absolute) or
    ``relative`` of the ``target`` column."""

    target: str = "expected"
    tolerance: float = 1e-6
    relative: float = 0.0

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        numbers = _NUMBER.findall(output or "")
        if not numbers:
            return Score(0.0, "No number in the output.", False)
        try:
            got = float(numbers[-1].replace(",", ""))
        except ValueError:                       # "1.2.3": not one number
            return Score(0.0, f"{numbers[-1]!r} is not a number.", False)
        try:
            want = float(row[self.target])
        except (TypeError, ValueError):
            raise DataError(f"NumericScorer: the {self.target!r} value {row[self.target]!r} is not a number.") from None
        ok = math.isclose(got, want, abs_tol=self.tolerance, rel_tol=self.relative)
        return Score(1.0 if ok else 0.0, "" if ok else f"Got {got:g}, expected {want:g}.", ok)


@dataclass
class JSONFieldScorer(_ReadsTarget):
    """1 when the output's JSON (a fenced block or the whole text) has ``field`` equal to the
    ``target`` column; unparseable JSON scores 0 with the reason as feedback."""

    field: str
    target: str = "expected"

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        from workbench.prompts.answers import json_answer

        data, problem = json_answer(output)
        if problem:
            return Score(0.0, problem, False)
        value: Any = data
        for key in self.field.split("."):
            if not isinstance(value, Mapping) or key not in value:
                return Score(0.0, f"The JSON has no field {self.field!r}.", False)
            value = value[key]
        ok = _normalize(value, False) == _normalize(row[self.target], False)
        return Score(1.0 if ok else 0.0, "" if ok else f"{self.field} is {value!r}, expected {row[self.target]!r}.",
                     ok)


@dataclass
class FunctionScorer:
    """Your own function ``fn(output, row)`` returning a Score, a (score, feedback) pair, a
    bool or a number in [0, 1]."""

    fn: Callable[[str, Mapping[str, Any]], Any]
    columns: tuple[str, ...] = ()

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        result = self.fn(output, row)
        if isinstance(result, Score):
            return result
        if isinstance(result, bool):
            return Score(1.0 if result else 0.0, "", result)
        if isinstance(result, tuple) and len(result) == 2:
            return Score(float(result[0]), str(result[1]))
        return Score(float(result))


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
    """Asks a model to grade; uses ``client.generate`` so the judge keeps no history.

    As a row scorer, ``task`` is the ``task_column`` (default: the prompt sent), ``rubric``
    is added to the criteria, and a reply without a SCORE line raises JudgeParseError.
    """

    client: Any
    criteria: str = "Correct, complete and clear."
    prompt_template: str = JUDGE_PROMPT
    rubric: str | None = None
    task_column: str | None = None
    threshold: float = 0.7
    scale: float = 10.0            # what JUDGE_PROMPT asks for; a reply's own "/100" or "/1" wins

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.task_column,) if self.task_column else ()

    def _ask(self, task: str, output: str, criteria: str | None) -> str:
        from workbench.prompts.template import fill

        criteria = criteria or self.criteria
        if self.rubric:
            criteria = f"{criteria}\n\nRubric:\n{self.rubric}"
        return self.client.generate(fill(self.prompt_template, {"task": task, "output": output,
                                                                "criteria": criteria}))

    def score(self, task: str, output: str, criteria: str | None = None) -> Score:
        return parse_judgement(self._ask(task, output, criteria), scale=self.scale)

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        task = str(row[self.task_column]) if self.task_column else str(row.get("__prompt__", ""))
        reply = self._ask(task, output, None)
        if _SCORE.search(reply or "") is None:
            raise JudgeParseError(f"The judge replied without a SCORE line: {(reply or '')[:200]!r}", reply or "")
        judged = parse_judgement(reply, scale=self.scale)
        return Score(judged.value, judged.feedback, judged.value >= self.threshold)


def parse_judgement(reply: str, scale: float | None = None) -> Score:
    """A Score from a judge's ``SCORE: x`` / ``FEEDBACK: ...`` reply, on ``scale`` unless the
    reply names its own ("/1", "/10", "/100"). Without a scale, a number above 1 is read on
    0-10 and one at most 1 on 0-1 (ambiguous: "SCORE: 1" out of 10 reads as 1.0, so the
    scorer passes its scale)."""
    m = _SCORE.search(reply or "")
    if m is None:
        return Score(0.0, f"The judge gave no SCORE line; its reply was: {(reply or '')[:300]}", passed=False)
    number = float(m.group(1))
    if m.group(2):
        scale = float(m.group(2))
    elif scale is None:
        scale = 10.0 if number > 1 else 1.0
    fb = _FEEDBACK.search(reply)
    return Score(number / scale, fb.group(1).strip() if fb else "")
