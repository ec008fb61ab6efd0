"""PromptTemplate, PromptCatalog and the row scorers."""

from __future__ import annotations

import multiprocessing

import pytest

from workbench.errors import DataError, JudgeParseError
from workbench.prompts import (ContainsScorer, ExactMatchScorer, FunctionScorer, JSONFieldScorer, LLMJudgeScorer,
                               NumericScorer, PromptCatalog, PromptTemplate, RegexScorer, Score)


def test_template_fills_its_fields_and_leaves_every_other_brace():
    t = PromptTemplate('Classify: {content}\nReply as {"label": "pos"} or {{literal}} or {x.y}')
    assert t.variables == ("content",)
    assert t.render(content="I loved it") == 'Classify: I loved it\nReply as {"label": "pos"} or {{literal}} or {x.y}'
    declared = PromptTemplate("{a} and {b}", variables=["a"])
    assert declared.render(a=1, b=2) == "1 and {b}"


def test_a_missing_field_names_the_columns_there_are():
    with pytest.raises(DataError, match=r"\{question\}.*Columns: text, expected"):
        PromptTemplate("Q: {question}").check(["text", "expected"])


def test_catalog_versions_lineage_labels_and_diff(tmp_path):
    catalog = PromptCatalog(tmp_path / "p.db")
    v1 = catalog.store_prompt("sentiment", "tiny", "Classify: {content}")
    v2 = catalog.store_prompt("sentiment", "tiny", "Label the mood: {content}", parent=v1,
                              mutation_prompt="Be direct.", labels=["best"], metrics={"val": 0.8})
    other = catalog.store_prompt("sentiment", "gpt", "Classify: {content}")
    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    assert v1.content_hash == other.content_hash != v2.content_hash
    assert catalog.retrieve_last("sentiment", "tiny").prompt == "Label the mood: {content}"
    assert [p.version for p in catalog.retrieve_all("sentiment", "tiny")] == [1, 2]
    assert catalog.retrieve_model_ids("sentiment") == ["gpt", "tiny"] and catalog.retrieve_names() == ["sentiment"]
    assert [p.version for p in catalog.lineage(v2)] == [1, 2] and v2.mutation_prompt == "Be direct."
    assert catalog.retrieve_label("sentiment", "tiny", "best").version == 2
    catalog.label(v1, "best")                                  # a label names one version
    assert catalog.retrieve_label("sentiment", "tiny", "best").version == 1
    assert "best" not in catalog.retrieve_version("sentiment", "tiny", 2).labels
    diff = catalog.diff(v1, v2)
    assert "-Classify: {content}" in diff and "+Label the mood: {content}" in diff
    assert catalog.delete_all("sentiment", "tiny") == 2 and catalog.retrieve_last("sentiment", "tiny") is None


def _store_many(path: str, n: int) -> None:
    catalog = PromptCatalog(path)
    for i in range(n):
        catalog.store_prompt("shared", "m", f"text {i}")


def test_two_processes_storing_at_once_never_share_a_version(tmp_path):
    path = str(tmp_path / "p.db")
    PromptCatalog(path)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_store_many, args=(path, 25)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    versions = [p.version for p in PromptCatalog(path).retrieve_all("shared", "m")]
    assert sorted(versions) == list(range(1, 51))


def test_row_scorers():
    row = {"expected": "Paris", "n": 42, "label": "pos"}
    assert ExactMatchScorer().score_row("  paris. ", row).passed
    assert not ExactMatchScorer(case_sensitive=True).score_row("paris", row).passed
    assert ContainsScorer().score_row("It is Paris, I think", row).value == 1.0
    assert RegexScorer(r"answer: (\w+)", target="expected").score_row("Answer: Paris", row).passed
    assert RegexScorer(r"\d+").score_row("no digits", row).value == 0.0
    assert NumericScorer(target="n").score_row("So 40 + 2 = 42.0", row).passed
    assert not NumericScorer(target="n").score_row("about 41", row).passed
    assert JSONFieldScorer("label", target="label").score_row('```json\n{"label": "POS"}\n```', row).passed
    bad = JSONFieldScorer("label", target="label").score_row("not json", row)
    assert bad.value == 0.0 and "not JSON" in bad.feedback
    assert FunctionScorer(lambda out, r: len(out) < 5).score_row("ok", row).passed
    value, feedback = FunctionScorer(lambda out, r: (0.5, "half")).score_row("x", row)   # AIMU's pair
    assert (value, feedback) == (0.5, "half")
    with pytest.raises(DataError, match="does not compile"):
        RegexScorer("(")


class _Judge:
    def __init__(self, reply: str):
        self.reply = reply
        self.prompts: list[str] = []

    def generate(self, prompt: str, **_):
        self.prompts.append(prompt)
        return self.reply


def test_judge_scores_rows_and_a_reply_without_a_score_is_an_error_not_a_default():
    judge = _Judge("SCORE: 8\nFEEDBACK: good, but cite a source")
    score = LLMJudgeScorer(judge, rubric="10: perfect; 0: wrong", task_column="q").score_row(
        "Paris", {"q": "Capital of France?"})
    assert score == Score(0.8, "good, but cite a source", True)
    assert "Capital of France?" in judge.prompts[0] and "Rubric:\n10: perfect" in judge.prompts[0]
    with pytest.raises(JudgeParseError) as info:
        LLMJudgeScorer(_Judge("I think it is fine.")).score_row("Paris", {})
    assert info.value.reply == "I think it is fine."


def test_judge_scale_is_explicit_and_numeric_scorer_survives_odd_numbers(tmp_path):
    assert LLMJudgeScorer(_Judge("SCORE: 1\nFEEDBACK: poor")).score_row("x", {}).value == pytest.approx(0.1)
    assert LLMJudgeScorer(_Judge("SCORE: 45/100")).score_row("x", {}).value == pytest.approx(0.45)
    assert LLMJudgeScorer(_Judge("SCORE: 0.5"), scale=1).score_row("x", {}).value == pytest.approx(0.5)
    odd = NumericScorer(target="n").score_row("version 1.2.3", {"n": 1})
    assert odd.value == 0.0 and "not a number" in odd.feedback
    with pytest.raises(DataError, match="not a number"):
        NumericScorer(target="n").score_row("42", {"n": "forty-two"})
    catalog = PromptCatalog(tmp_path / "p.db")
    from workbench.errors import RunStoreError
    with pytest.raises(RunStoreError, match="No prompt with id 999"):
        catalog.store_prompt("a", "m", "x", parent=999)
