"""DeepEval adapters: any workbench client as a DeepEval judge; DeepEval metrics as a row scorer.

    from deepeval.metrics import AnswerRelevancyMetric, GEval
    from workbench.evals import Benchmark, DeepEvalModel, DeepEvalScorer

    judge = DeepEvalModel(wb.client("openai:gpt-4.1"))          # or hf:..., ollama:..., anthropic:...
    scorer = DeepEvalScorer([AnswerRelevancyMetric(model=judge, threshold=0.7)], context_column="context")
    Benchmark("{question}", data, scorer).run(clients)

``DeepEvalModel`` answers DeepEval's calls with ``client.generate`` (the judge keeps no
history): sync ``generate`` on the client, ``a_generate`` through ``workbench.aio`` (the
cloud SDK's async object; in-process models in a thread). When a metric asks for a schema,
the reply's JSON is validated against it and, if it does not fit, the judge is asked again
with the error and the JSON schema (``retries`` times), then ``JudgeParseError`` with the
raw reply; the OpenAI provider is also sent the schema as ``response_format``.

``DeepEvalScorer`` scores each row with fresh metric instances (a metric given as an
instance is copied per row, a class or factory is called per row), so rows never share a
metric's state. The test case: ``input`` is the prompt sent (or ``input_column``),
``actual_output`` the model's output, ``expected_output`` the ``expected_column``,
``retrieval_context`` the ``context_column`` (a string or a list of them). A metric that
fails is the row's error (``MetricError``, with the judge's raw reply when there is one).

The ``deepeval`` extra installs DeepEval; telemetry is opted out before it is imported.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generator, Mapping

from workbench.errors import DataError, JudgeParseError, MissingDependencyError
from workbench.prompts.scorer import Score

os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "1")      # before deepeval is imported
try:
    from deepeval.metrics import BaseMetric
    from deepeval.models import DeepEvalBaseLLM
    from deepeval.test_case import LLMTestCase
except ImportError as exc:                                   # pragma: no cover - the extra is missing
    raise MissingDependencyError("deepeval", "deepeval") from exc


class MetricError(JudgeParseError):
    """A DeepEval metric failed on a row; ``reply`` holds the judge's raw reply, if any."""


# -- the judge ---------------------------------------------------------------------------------

Ask = Generator[tuple[str, dict], str, Any]       # yields (prompt, generate_kwargs), receives replies


class DeepEvalModel(DeepEvalBaseLLM):
    """A workbench client (or a model string) as a DeepEval judge model.

    ``retries``: extra asks when a reply does not fit the metric's schema; ``json_schema``:
    send the schema as OpenAI's ``response_format`` (default: only on the ``openai``
    provider, whose API supports it); ``generate_kwargs``: options for every judge call
    (e.g. ``{"temperature": 0}``).
    """

    def __init__(self, client: Any, *, retries: int = 2, json_schema: bool | None = None,
                 generate_kwargs: dict | None = None):
        if isinstance(client, str):
            import workbench as wb

            client = wb.client(client)
        client = getattr(client, "sync_client", client)       # an aio.client(...) wraps a sync one
        if not callable(getattr(client, "generate", None)) or not hasattr(client, "model_string"):
            raise TypeError(f"DeepEvalModel takes a workbench client or a model string, got {type(client).__name__}.")
        if not isinstance(retries, int) or retries < 0:
            raise DataError(f"DeepEvalModel: retries must be a whole number >= 0, got {retries!r}.")
        self.client = client
        self.retries = retries
        provider = getattr(getattr(getattr(client, "resolved", None), "provider", None), "name", None)
        self.json_schema = (provider == "openai") if json_schema is None else bool(json_schema)
        self.generate_kwargs = dict(generate_kwargs or {})
        super().__init__(self.get_model_name())

    def load_model(self, *args, **kwargs) -> Any:
        return self.client

    def get_model_name(self, *args, **kwargs) -> str:
        from workbench.models.redact import shareable_model_string

        return shareable_model_string(self.client.model_string) or f"{self.client.model_string.split('@')[0]}@<url>"

    def __repr__(self) -> str:
        return f"<DeepEvalModel {self.get_model_name()}>"

    # one logic for both drivers: a generator of asks, fed the replies
    def _asks(self, prompt: str, schema: Any) -> Ask:
        kwargs = dict(self.generate_kwargs)
        if schema is None:
            return (yield prompt, kwargs)
        if self.json_schema:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                "name": schema.__name__, "schema": schema.model_json_schema()}}
        ask, problem, reply = prompt, "", ""
        for _ in range(self.retries + 1):
            reply = yield ask, kwargs
            value, problem = _fit(reply, schema)
            if problem is None:
                return value
            ask = (f"{prompt}\n\nYour previous reply could not be used: {problem}\n"
                   f"Reply with only a JSON object matching this JSON schema:\n"
                   f"{json.dumps(schema.model_json_schema())}")
        raise JudgeParseError(f"The judge {self.get_model_name()} gave no valid {schema.__name__} in "
                              f"{self.retries + 1} tries: {problem}", reply or "")

    def generate(self, prompt: str, schema: Any = None, **kwargs: Any) -> Any:
        asks = self._asks(prompt, schema)
        try:
            ask, options = next(asks)
            while True:
                ask, options = asks.send(self.client.generate(ask, generate_kwargs=options))
        except StopIteration as done:
            return done.value

    async def a_generate(self, prompt: str, schema: Any = None, **kwargs: Any) -> Any:
        from workbench.aio.model_client import AsyncModelClient

        # A cloud client's async connection belongs to one event loop, and DeepEval may run
        # a metric in a loop of its own: each call uses a fork (the same model and sync pool)
        # whose async connection is closed before the call returns.
        own = callable(getattr(self.client, "_aturn", None)) and callable(getattr(self.client, "fork", None))
        judge = self.client.fork(self.client.system_message) if own else self.client
        aclient = AsyncModelClient(judge)
        asks = self._asks(prompt, schema)
        try:
            ask, options = next(asks)
            while True:
                ask, options = asks.send(await aclient.generate(ask, generate_kwargs=options))
        except StopIteration as done:
            return done.value
        finally:
            if own:
                await aclient.aclose()


def _fit(reply: str, schema: Any) -> tuple[Any, str | None]:
    """(an instance of ``schema``, None) or (None, what is wrong with the reply)."""
    from pydantic import ValidationError

    if not (reply or "").strip():
        return None, "the reply was empty."
    data, problem = _json_object(reply)
    if problem is not None:
        return None, problem
    try:
        return schema.model_validate(data), None
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()[:5])
        return None, f"the JSON does not match the schema ({wrong})."


def _json_object(text: str) -> tuple[Any, str | None]:
    from workbench.prompts.answers import json_answer

    data, problem = json_answer(text)
    if problem is None:
        return data, None
    start, end = text.find("{"), text.rfind("}")     # prose around one object: "Here it is: {...}"
    if 0 <= start < end:
        try:
            return json.loads(text[start:end + 1]), None
        except ValueError:
            pass
    return None, "it is not JSON."


# -- the scorer --------------------------------------------------------------------------------

@dataclass
class DeepEvalScorer:
    """DeepEval metrics as a benchmark's row scorer (see the module doc).

    ``metrics``: a metric, a metric class, a factory returning one, or a list of these;
    ``judge``: a client, model string or DeepEvalModel given to metric *classes* as
    ``model=``. The row's score is the mean of the metrics' scores; it passes when every
    metric succeeds (its own threshold); the feedback lists each metric's score and reason.
    """

    metrics: Any
    judge: Any = None
    input_column: str | None = None
    expected_column: str | None = None
    context_column: str | None = None
    _items: list = field(init=False, repr=False)
    _judge: Any = field(init=False, repr=False, default=None)
    blocking: ClassVar[bool] = True

    def __post_init__(self) -> None:
        items = list(self.metrics) if isinstance(self.metrics, (list, tuple)) else [self.metrics]
        if not items:
            raise DataError("DeepEvalScorer needs at least one metric, e.g. DeepEvalScorer([GEval(...)]).")
        for item in items:
            if not (isinstance(item, BaseMetric) or callable(item)):
                raise DataError(f"DeepEvalScorer: {item!r} is not a DeepEval metric (an instance of "
                                "deepeval.metrics.BaseMetric, its class, or a function returning one).")
        self._items = items
        if self.judge is not None:
            self._judge = self.judge if isinstance(self.judge, DeepEvalModel) else DeepEvalModel(self.judge)
        self.fresh_metrics()      # a metric that cannot be made fails here, before any request

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.input_column, self.expected_column, self.context_column) if c)

    def fresh_metrics(self) -> list[Any]:
        """New metric objects for one row (never a metric that scored another row)."""
        out = []
        for item in self._items:
            if isinstance(item, BaseMetric):
                metric = copy.copy(item)
            elif isinstance(item, type) and self._judge is not None:
                metric = item(model=self._judge)
            else:
                try:
                    metric = item()
                except Exception as exc:
                    raise DataError(f"DeepEvalScorer could not make the metric {getattr(item, '__name__', item)!r}: "
                                    f"{exc}. Give it a judge: DeepEvalScorer([...], judge=wb.client(...)), or "
                                    "pass metric instances built with model=DeepEvalModel(client).") from exc
                if not isinstance(metric, BaseMetric):
                    raise DataError(f"DeepEvalScorer: {item!r} returned {type(metric).__name__}, not a DeepEval metric.")
            out.append(metric)
        return out

    def test_case(self, output: str, row: Mapping[str, Any]) -> Any:
        def column(name: str | None) -> Any:
            return None if name is None else row[name]

        context = column(self.context_column)
        if context is not None and not isinstance(context, (list, tuple)):
            context = [context]
        task = column(self.input_column) if self.input_column else row.get("__prompt__", "")
        expected = column(self.expected_column)
        return LLMTestCase(input=str(task), actual_output=str(output or ""),
                           expected_output=None if expected is None else str(expected),
                           retrieval_context=None if context is None else [str(c) for c in context])

    def score_row(self, output: str, row: Mapping[str, Any]) -> Score:
        metrics, case = self.fresh_metrics(), self.test_case(output, row)
        for metric in metrics:
            try:
                metric.measure(case, _show_indicator=False)
            except Exception as exc:
                raise _metric_error(metric, exc) from exc
        return _combined(metrics)

    async def ascore_row(self, output: str, row: Mapping[str, Any]) -> Score:
        """The same, awaited: a benchmark calls this in its event loop (no thread per row)."""
        import asyncio

        metrics, case = self.fresh_metrics(), self.test_case(output, row)
        outcomes = await asyncio.gather(*(m.a_measure(case, _show_indicator=False) for m in metrics),
                                        return_exceptions=True)
        for metric, outcome in zip(metrics, outcomes):
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, Exception):
                    raise outcome                   # a cancellation stays one
                raise _metric_error(metric, outcome) from outcome
        return _combined(metrics)


def _name(metric: Any) -> str:
    return str(getattr(metric, "__name__", None) or type(metric).__name__)


def _metric_error(metric: Any, exc: BaseException) -> MetricError:
    reply = getattr(exc, "reply", "") or ""
    return MetricError(f"{_name(metric)} failed: {type(exc).__name__}: {exc}", reply)


def _combined(metrics: list[Any]) -> Score:
    values, lines, passed = [], [], True
    for metric in metrics:
        if getattr(metric, "error", None):
            raise MetricError(f"{_name(metric)} failed: {metric.error}")
        if metric.score is None:
            raise MetricError(f"{_name(metric)} gave no score.")
        values.append(float(metric.score))
        ok = metric.is_successful()
        passed = passed and ok is not False
        reason = re.sub(r"\s+", " ", str(getattr(metric, "reason", "") or "")).strip()
        lines.append(f"{_name(metric)} {float(metric.score):.2f}{'' if ok is not False else ' (failed)'}"
                     f"{': ' + reason if reason else ''}")
    return Score(sum(values) / len(values), "\n".join(lines), passed)


__all__ = ["DeepEvalModel", "DeepEvalScorer", "MetricError"]
