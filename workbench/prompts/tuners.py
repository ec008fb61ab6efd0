"""Prompt tuners: propose better prompts, keep one only if it wins on held-out data.

    tuner = ClassificationPromptTuner(wb.client("hf:workbench-tiny"), labels=("positive", "negative"))
    result = tuner.tune(train, "Classify the review: {content}", validation_data=val, max_iterations=10,
                        catalog=catalog, prompt_name="sentiment", seed=0)
    result.prompt          # the best prompt; result.best.val_score, result.candidates, result.stopped

Each round a *mutator* model (default: a fork of the tuned client) is shown the current best
prompt and rows it got wrong (with the scorer's feedback) and proposes ``candidates_per_round``
rewrites; all are scored on the training rows concurrently through the benchmark engine;
the best of them is scored on the validation rows and accepted only if it beats the best
so far there by ``margin``. Stopping: a perfect validation score, ``patience`` rounds
without an accepted candidate, or ``max_iterations``. (AIMU stopped at 100% *training*
accuracy: that rewards overfitting.) A candidate that drops a template field is rejected
before it costs a call. Every candidate goes to the catalog with its parent and the request
that produced it; the calls a run can make are projected before it starts and cut to
``budget_calls``.

``ReflectivePromptTuner`` (GEPA-like) keeps every candidate that is best on at least one
training row (a Pareto set) and mutates from the one that wins the most rows, showing the
mutator the scorer's feedback, so a prompt that fixes a different subset of rows is not
thrown away because its mean is lower.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

from workbench.errors import DataError
from workbench.prompts.answers import code_blocks
from workbench.prompts.scorer import LLMJudgeScorer, Score
from workbench.prompts.template import PromptTemplate

MUTATION_REQUEST = """You improve prompts for a language model.

The current prompt (a template; keep every field in braces exactly as written: {fields}):
<prompt>
{prompt}
</prompt>

Rows it got wrong:
{failures}

Write variant {variant} of {count}: an improved prompt that fixes these failures. Reply with
the new prompt only, inside a ``` fenced block."""


@dataclass
class Candidate:
    prompt: str
    round: int
    parent: "Candidate | None" = None
    mutation_prompt: str | None = None
    train_score: float | None = None
    val_score: float | None = None
    row_scores: dict[str, float] = field(default_factory=dict)     # training sample id -> score
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)   # its training rows (run store)
    stored: Any = None                                              # its catalog Prompt, if any
    index: int = 0                  # 0: the initial prompt; candidates count on from 1
    tokens: int = 0                 # input + output tokens its scoring cost

    def __repr__(self) -> str:
        return (f"<Candidate round {self.round} train={self.train_score} val={self.val_score} "
                f"{self.prompt[:40]!r}>")


@dataclass
class TuneResult:
    best: Candidate
    initial: Candidate
    candidates: list[Candidate]
    rejected: list[str]
    stopped: str
    projected_calls: int
    calls: int

    catalog: Any = field(default=None, repr=False)

    @property
    def prompt(self) -> str:
        return self.best.prompt

    def __str__(self) -> str:
        return self.best.prompt

    def store_as_best(self, candidate: "int | Candidate", catalog: Any = None) -> Any:
        """Label a candidate (its index in the tuning panel, or the Candidate) "best" in the
        catalog, e.g. a shorter prompt that scored nearly as well; returns its catalog Prompt."""
        chosen = candidate if isinstance(candidate, Candidate) else next(
            (c for c in self.candidates if c.index == candidate), None)
        if chosen is None:
            raise DataError(f"No candidate {candidate!r}; candidates are numbered "
                            f"0 to {max(c.index for c in self.candidates)}.")
        catalog = catalog if catalog is not None else self.catalog
        if catalog is None or chosen.stored is None:
            raise DataError("This tuning run kept no catalog: pass catalog= to tune() so candidates are versioned.")
        catalog.label(chosen.stored, "best")
        return chosen.stored

    def _ipython_display_(self) -> None:
        if getattr(self, "displayed", False):     # its tuning panel already shows it above
            from IPython.display import display

            display({"text/plain": f"<TuneResult best candidate {self.best.index}, {self.stopped}>"}, raw=True)
            return
        from workbench.notebook.tune_render import display_result

        display_result(self)


class PromptTuner(ABC):
    def __init__(self, model_client: Any, *, mutator_client: Any = None, candidates_per_round: int = 3,
                 margin: float = 0.0, patience: int = 3, max_concurrency: int = 8, failures_shown: int = 5):
        if candidates_per_round < 1:
            raise DataError("candidates_per_round must be >= 1.")
        self.model_client = model_client
        self.mutator_client = mutator_client
        self.candidates_per_round = candidates_per_round
        self.margin = margin
        self.patience = patience
        self.max_concurrency = max_concurrency
        self.failures_shown = failures_shown
        self.calls = 0
        self.last_result: TuneResult | None = None
        self._emit: Any = lambda event: None
        self._round, self._projected, self._doing = 0, 0, ""

    @abstractmethod
    def scorer(self) -> Any:
        """The row scorer that decides what "better" means for this tuner."""

    # -- one evaluation -------------------------------------------------------------------
    def _evaluate(self, prompts: list[str], data: list[dict], store: Any,
                  name: str) -> list[tuple[dict[str, float], list[dict]]]:
        """Per prompt: its score per sample (an error row counts 0: the prompt failed it), and its rows."""
        from workbench.evals.benchmark import Benchmark

        bench = Benchmark(prompts, data, self.scorer(), name=name)
        results = bench.run({"model": self.model_client}, store=store, max_concurrency=self.max_concurrency,
                            panel=False, on_event=self._on_bench_event)
        out: list[tuple[dict[str, float], list[dict]]] = [({}, []) for _ in prompts]
        for row in results.rows:
            scores, rows = out[row["prompt_version"] - 1]
            scores[row["sample_id"]] = 0.0 if row.get("error") is not None or row.get("score") is None \
                else float(row["score"])
            rows.append(row)
        return out

    def _on_bench_event(self, event: Any) -> None:
        from workbench.evals.events import RowFinished, TuneProgress

        if isinstance(event, RowFinished):
            self.calls += 1
            self._emit(TuneProgress(self._round, self.calls, self._projected, self._doing))

    def _train(self, cands: list[Candidate], train: list[dict], store: Any, name: str) -> None:
        self._doing = f"scoring {len(cands)} prompt{'s' if len(cands) > 1 else ''} on {len(train)} training rows"
        for cand, (scores, rows) in zip(cands, self._evaluate([c.prompt for c in cands], train, store, name)):
            cand.row_scores, cand.rows = scores, rows
            cand.train_score = sum(scores.values()) / len(train)
            cand.tokens += _tokens(rows)

    def _validate(self, cand: Candidate, val: list[dict], store: Any, name: str) -> None:
        self._doing = f"validating the best of round {cand.round} on {len(val)} rows"
        ((scores, rows),) = self._evaluate([cand.prompt], val, store, name)
        cand.val_score = sum(scores.values()) / len(val)
        cand.tokens += _tokens(rows)

    # -- mutation -------------------------------------------------------------------------
    def _failures(self, parent: Candidate, data: list[dict], rng: random.Random) -> str:
        rows = [r for r in parent.rows if (r.get("score") or 0) < 1.0 or r.get("error")]
        rng.shuffle(rows)
        lines = []
        for r in rows[: self.failures_shown]:
            sample = data[int(r["sample_id"])]
            shown = {k: v for k, v in sample.items() if not str(k).startswith("__")}
            lines.append(f"- input: {json.dumps(shown, ensure_ascii=False, default=str)}\n"
                         f"  model answered: {(r.get('output') or '')[:300]!r}\n"
                         f"  problem: {r.get('error') or r.get('feedback') or 'wrong'}")
        return "\n".join(lines) or "(none: make it more robust)"

    def _propose(self, parent: Candidate, fields: tuple[str, ...], data: list[dict], rng: random.Random,
                 round_no: int) -> tuple[list[Candidate], list[str]]:
        from workbench.agents.runner import fork_client
        from workbench.evals.events import TuneProgress

        mutator = self.mutator_client or fork_client(self.model_client)
        out, rejected, seen = [], [], {parent.prompt}
        for variant in range(1, self.candidates_per_round + 1):
            request = MUTATION_REQUEST.format(fields=", ".join("{" + f + "}" for f in fields) or "(none)",
                                              prompt=parent.prompt, failures=self._failures(parent, data, rng),
                                              variant=variant, count=self.candidates_per_round)
            self.calls += 1
            self._doing = f"asking for variant {variant} of {self.candidates_per_round}"
            self._emit(TuneProgress(round_no, self.calls, self._projected, self._doing))
            try:
                reply = mutator.generate(request)
            except Exception as exc:      # a failed mutator call costs a candidate, not the run
                rejected.append(f"round {round_no} variant {variant}: the mutator failed ({type(exc).__name__}: {exc})")
                continue
            text = parse_candidate(reply)
            found = set(PromptTemplate(text).variables) if text else set()
            missing, extra = [f for f in fields if f not in found], sorted(found - set(fields))
            if not text or missing or extra:
                # a dropped field breaks every row; an added one ({label}) would read the answer
                what = f"dropped {missing}" if missing or not text else f"added {extra}"
                rejected.append(f"round {round_no} variant {variant}: {what}: {text[:80]!r}")
            elif text not in seen:
                seen.add(text)
                out.append(Candidate(text, round_no, parent=parent, mutation_prompt=request))
        return out, rejected

    def _next_parent(self, best: Candidate, pool: list[Candidate]) -> Candidate:
        return best

    # -- the loop -------------------------------------------------------------------------
    def tune(self, training_data: Any, initial_prompt: "str | PromptTemplate", *, validation_data: Any = None,
             max_iterations: int = 10, catalog: Any = None, prompt_name: str | None = None, seed: int = 0,
             budget_calls: int | None = None, store: Any = None, on_event: Any = None,
             panel: bool | None = None) -> TuneResult:
        """Tune (see the module doc). ``on_event`` gets TuneStarted / TuneProgress /
        CandidateScored / TuneFinished; ``panel``: the live tuning panel (default: in a
        notebook; False: none). Ctrl-C (or the panel's Stop) stops after what is scored:
        the best prompt so far is labelled in the catalog and kept as ``tuner.last_result``."""
        from workbench.evals.benchmark import records
        from workbench.evals.events import Emitter, TuneFinished, TuneStarted
        from workbench.evals.store import RunStore

        train = records(training_data)
        rng = random.Random(seed)
        if validation_data is None:
            if len(train) < 4:
                raise DataError("Pass validation_data=, or at least 4 training rows to split off a validation set "
                                "(a tuner judged on its own training rows overfits).")
            shuffled = train[:]
            rng.shuffle(shuffled)
            cut = max(1, len(shuffled) // 4)
            val, train = shuffled[:cut], shuffled[cut:]
        else:
            val = records(validation_data)
        template = initial_prompt if isinstance(initial_prompt, PromptTemplate) else PromptTemplate(initial_prompt)
        fields = template.variables
        for part in (train, val):
            template.check(list(part[0]))
        per_round = self.candidates_per_round * (1 + len(train)) + len(val)
        projected = len(train) + len(val) + max_iterations * per_round
        if budget_calls is not None and projected > budget_calls:
            fits = (budget_calls - len(train) - len(val)) // per_round
            if fits < 1:
                raise DataError(f"budget_calls={budget_calls} does not cover one round: scoring the initial prompt "
                                f"takes {len(train) + len(val)} calls and each round {per_round}.")
            max_iterations = fits
            projected = len(train) + len(val) + fits * per_round
        self.calls, self._round, self._projected, self._doing = 0, 0, projected, "scoring the initial prompt"
        self.last_result, self._best = None, None
        name = prompt_name or "tuning"
        model_id = getattr(self.model_client, "model_string", "model")
        view = _open_tune_panel(panel, name)
        listeners = list(on_event) if isinstance(on_event, (list, tuple)) else [on_event]
        self._emit = Emitter(listeners + [view.listener if view is not None else None])
        self._emit(TuneStarted(name, model_id, template.text, len(train), len(val), max_iterations, projected,
                               budget_calls))
        initial = Candidate(template.text, 0)
        best, candidates, rejected = initial, [initial], []
        stopped = "max_iterations"
        scratch = None
        if store is None:      # the tuner's own evaluations stay out of the default run store
            scratch = tempfile.TemporaryDirectory(prefix="workbench-tune-")
            store = RunStore(Path(scratch.name) / "tuning.db")
        try:
            best, stopped = self._loop(initial, candidates, rejected, train, val, fields, rng, store, catalog, name,
                                       model_id, max_iterations)
        except KeyboardInterrupt as exc:
            stopped = "interrupted"
            best = self._best if self._best is not None else initial
            self._end(best, candidates, rejected, stopped, projected, catalog, view)
            raise _interrupted(exc, self.last_result)
        except BaseException:
            try:
                self._emit(TuneFinished("failed", getattr(self._best, "index", 0), self.calls, projected))
            finally:
                if view is not None:
                    try:
                        view.abort()
                    except Exception:      # the panel must not hide the error that ended the run
                        pass
            raise
        finally:
            if scratch is not None:
                store.close()
                scratch.cleanup()
        return self._end(best, candidates, rejected, stopped, projected, catalog, view)

    def _loop(self, initial, candidates, rejected, train, val, fields, rng, store, catalog, name, model_id,
              max_iterations) -> tuple[Candidate, str]:
        self._train([initial], train, store, f"{name}-initial")
        self._validate(initial, val, store, f"{name}-initial-val")
        self._remember(initial, catalog, name, model_id)
        self._scored(initial, accepted=True, best=initial)
        best, pool, idle = initial, [initial], 0
        for round_no in range(1, max_iterations + 1):
            self._round = round_no
            if best.val_score is not None and best.val_score >= 1.0:
                return best, "validation perfect"
            parent = self._next_parent(best, pool)
            proposed, dropped = self._propose(parent, fields, train, rng, round_no)
            rejected += dropped
            if proposed:
                for cand in proposed:
                    cand.index = len(candidates)
                    candidates.append(cand)
                self._train(proposed, train, store, f"{name}-round-{round_no}")
                top = max(proposed, key=lambda c: c.train_score)
                self._validate(top, val, store, f"{name}-round-{round_no}-val")
                pool += proposed
                accepted = top.val_score > (best.val_score or 0.0) + self.margin
                if accepted:
                    best = top
                for cand in proposed:
                    self._remember(cand, catalog, name, model_id)
                    self._scored(cand, accepted=accepted and cand is top, best=best)
                if accepted:
                    idle = 0
                    continue
            idle += 1
            if idle >= self.patience:
                return best, "no improvement"
        return best, "max_iterations"

    def _scored(self, cand: Candidate, *, accepted: bool, best: Candidate) -> None:
        from workbench.evals.events import CandidateScored

        self._best = best
        worst = sorted(cand.rows, key=lambda r: (r.get("error") is None, r.get("score") or 0.0))[:5]
        self._emit(CandidateScored(
            cand.index, cand.parent.index if cand.parent is not None else None, cand.round, cand.prompt,
            cand.train_score, cand.val_score, cand.tokens, accepted, best.index,
            getattr(cand.stored, "version", None),
            tuple({k: r.get(k) for k in ("sample_id", "output", "score", "feedback", "error")} for r in worst)))

    def _end(self, best, candidates, rejected, stopped, projected, catalog, view) -> TuneResult:
        from workbench.evals.events import TuneFinished

        if catalog is not None and best.stored is not None:
            catalog.label(best.stored, "best")
        result = TuneResult(best, candidates[0], candidates, rejected, stopped, projected, self.calls,
                            catalog=catalog)
        self.last_result = result
        self._emit(TuneFinished(stopped, best.index, self.calls, projected))
        if view is not None:
            try:
                view.end(result)
            except Exception as exc:
                import warnings

                warnings.warn(f"The tuning panel could not show the result: {exc}", RuntimeWarning, stacklevel=2)
        return result

    @staticmethod
    def _remember(cand: Candidate, catalog: Any, name: str, model_id: str) -> None:
        if catalog is None:
            return
        parent = cand.parent.stored if cand.parent is not None else None
        cand.stored = catalog.store_prompt(name, model_id, cand.prompt, parent=parent,
                                           mutation_prompt=cand.mutation_prompt,
                                           metrics={"train": cand.train_score, "val": cand.val_score,
                                                    "round": cand.round})


def _tokens(rows: list[dict]) -> int:
    return sum((r.get("input_tokens") or 0) + (r.get("output_tokens") or 0) for r in rows)


def _interrupted(exc: BaseException, result: "TuneResult | None") -> BaseException:
    """A stopped tuning run ends its cell in a few lines: where the best prompt so far is."""
    if result is not None:
        score = "-" if result.best.val_score is None else f"{result.best.val_score:.3f}"
        lines = [f"Interrupted after {len(result.candidates) - 1} candidates: the best prompt so far "
                 f"(candidate {result.best.index}, validation {score}) is tuner.last_result.prompt"
                 + ("; labelled 'best' in the catalog." if result.catalog is not None else ".")]
        try:
            exc._render_traceback_ = lambda: list(lines)  # type: ignore[attr-defined]
        except AttributeError:
            pass
    return exc


def _open_tune_panel(panel: bool | None, name: str) -> Any:
    if panel is False:
        return None
    try:
        from workbench.notebook.tune_panel import open_tune_panel
    except ImportError:
        if panel:
            from workbench.errors import MissingDependencyError

            raise MissingDependencyError("anywidget", "notebook") from None
        return None
    return open_tune_panel(panel, name)


def parse_candidate(reply: str) -> str:
    """The proposed prompt: the first fenced block, else the reply without a PROMPT: label."""
    blocks = code_blocks(reply or "")
    text = blocks[0] if blocks else re.sub(r"^\s*(new\s+)?prompt\s*:\s*", "", reply or "", flags=re.I)
    return text.strip()


@dataclass
class LabelScorer:
    """1 when the first of ``labels`` named in the output is the ``target`` column's label."""

    labels: tuple[str, ...]
    target: str = "label"
    blocking: ClassVar[bool] = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.target,)

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        found = [(m.start(), label) for label in self.labels
                 for m in [re.search(rf"(?<!\w){re.escape(label)}(?!\w)", output or "", re.I)] if m]
        want = str(row[self.target]).strip().lower()
        if not found:
            return Score(0.0, f"No label among {', '.join(self.labels)}; expected {want!r}.", False)
        got = min(found)[1].lower()
        return Score(1.0, "", True) if got == want else Score(0.0, f"Answered {got!r}, expected {want!r}.", False)


@dataclass
class FieldsScorer:
    """The share of ``fields`` whose value in the output's JSON equals the row's column of
    the same name."""

    fields: tuple[str, ...]
    blocking: ClassVar[bool] = False

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.fields)

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        from workbench.prompts.answers import json_answer

        data, problem = json_answer(output)
        if problem:
            return Score(0.0, problem, False)
        if not isinstance(data, Mapping):
            return Score(0.0, "The output's JSON is not an object.", False)
        wrong = [f for f in self.fields if str(data.get(f, "")).strip().lower() != str(row[f]).strip().lower()]
        value = 1 - len(wrong) / len(self.fields)
        return Score(value, "" if not wrong else "Wrong or missing: " + ", ".join(wrong) + ".", not wrong)


class MultiClassPromptTuner(PromptTuner):
    def __init__(self, model_client: Any, labels: tuple[str, ...] | list[str], *, target: str = "label", **kwargs: Any):
        super().__init__(model_client, **kwargs)
        if len(labels) < 2:
            raise DataError("A classification tuner needs at least two labels.")
        self.labels, self.target = tuple(labels), target

    def scorer(self) -> Any:
        return LabelScorer(self.labels, self.target)


class ClassificationPromptTuner(MultiClassPromptTuner):
    """Binary classification (two labels, default yes / no)."""

    def __init__(self, model_client: Any, labels: tuple[str, str] = ("yes", "no"), **kwargs: Any):
        if len(labels) != 2:
            raise DataError("ClassificationPromptTuner is binary: two labels (use MultiClassPromptTuner for more).")
        super().__init__(model_client, labels, **kwargs)


class ExtractionPromptTuner(PromptTuner):
    """Structured extraction: the answer is JSON whose ``fields`` match the row's columns."""

    def __init__(self, model_client: Any, fields: list[str] | tuple[str, ...], **kwargs: Any):
        super().__init__(model_client, **kwargs)
        if not fields:
            raise DataError("ExtractionPromptTuner needs the fields to extract.")
        self.fields = tuple(fields)

    def scorer(self) -> Any:
        return FieldsScorer(self.fields)


class JudgedPromptTuner(PromptTuner):
    """Open-ended tasks scored by a judge model (LLMJudgeScorer: no score is a row error)."""

    def __init__(self, model_client: Any, judge_client: Any, *, criteria: str = "Correct, complete and clear.",
                 rubric: str | None = None, **kwargs: Any):
        super().__init__(model_client, **kwargs)
        self.judge = LLMJudgeScorer(judge_client, criteria=criteria, rubric=rubric)

    def scorer(self) -> Any:
        return self.judge


class ReflectivePromptTuner(PromptTuner):
    """Any row scorer; mutates from the Pareto set of candidates (best on some row) using
    the scorer's feedback (see the module doc)."""

    def __init__(self, model_client: Any, scorer: Any, **kwargs: Any):
        super().__init__(model_client, **kwargs)
        self._scorer = scorer

    def scorer(self) -> Any:
        return self._scorer

    def _next_parent(self, best: Candidate, pool: list[Candidate]) -> Candidate:
        front = pareto_front(pool)
        wins = {id(c): sum(1 for sid in c.row_scores
                           if c.row_scores[sid] >= max(o.row_scores.get(sid, 0.0) for o in front)) for c in front}
        return max(front, key=lambda c: (wins[id(c)], c.train_score or 0.0))


def pareto_front(pool: list[Candidate]) -> list[Candidate]:
    """Candidates that score best (ties included) on at least one training row."""
    samples = {sid for c in pool for sid in c.row_scores}
    front = []
    for cand in pool:
        if any(cand.row_scores.get(sid, 0.0) >= max(o.row_scores.get(sid, 0.0) for o in pool) > 0
               for sid in samples):
            front.append(cand)
    return front or [max(pool, key=lambda c: c.train_score or 0.0)]
