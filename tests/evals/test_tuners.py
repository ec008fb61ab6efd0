"""Prompt tuners on fake servers whose answers depend on the prompt (a responder)."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.errors import DataError
from workbench.prompts import PromptCatalog
from workbench.prompts.tuners import (Candidate, ClassificationPromptTuner, ExtractionPromptTuner,
                                      MultiClassPromptTuner, ReflectivePromptTuner, pareto_front)
from workbench.prompts.scorer import ExactMatchScorer
from workbench.testing import FakeOpenAIServer, Reply

REVIEWS = [("I loved it", "positive"), ("Great film", "positive"), ("I hated it", "negative"),
           ("Dull and long", "negative"), ("Loved the cast", "positive"), ("Awful plot", "negative"),
           ("Great fun", "positive"), ("Boring", "negative")]
TRAIN = [{"content": c, "label": l} for c, l in REVIEWS[:6]]
VAL = [{"content": c, "label": l} for c, l in REVIEWS[6:]]


def sentiment_model(body):
    """Answers with a label only when the prompt asks for one; right by keyword."""
    prompt = body["messages"][-1]["content"]
    if "positive or negative" not in prompt:
        return Reply(text="It is a review.")
    good = any(w in prompt.lower() for w in ("loved", "great"))
    return Reply(text="positive" if good else "negative")


@pytest.fixture
def servers():
    with FakeOpenAIServer(responder=sentiment_model) as model, FakeOpenAIServer() as mutator:
        yield model, mutator


def client_of(server):
    return wb.client(f"openai-compat:fake@{server.base_url}")


def test_a_candidate_is_kept_only_when_it_wins_on_validation_and_lands_in_the_catalog(servers, tmp_path):
    model, mutator = servers
    mutator.add(Reply(text="```\nSay something about: {content}\n```"),            # no label asked: no better
                Reply(text="Just classify it."),                                 # drops {content}: rejected
                Reply(text="```\nIs it positive or negative? Review: {content}\n```"))
    catalog = PromptCatalog(tmp_path / "p.db")
    tuner = ClassificationPromptTuner(client_of(model), labels=("positive", "negative"),
                                      mutator_client=client_of(mutator), candidates_per_round=3)
    result = tuner.tune(TRAIN, "Review: {content}", validation_data=VAL, max_iterations=5, catalog=catalog,
                        prompt_name="sentiment", seed=0, store=tmp_path / "runs.db")
    assert result.initial.val_score == 0.0 and result.best.val_score == 1.0
    assert result.prompt == "Is it positive or negative? Review: {content}"
    assert result.stopped == "validation perfect" and len(result.rejected) == 1
    assert "dropped ['content']" in result.rejected[0]
    versions = catalog.retrieve_all("sentiment", "openai-compat:fake")
    assert [v.version for v in versions] == [1, 2, 3]          # the initial prompt and two candidates
    best = catalog.retrieve_label("sentiment", "openai-compat:fake", "best")
    assert best.prompt == result.prompt and best.parent_id == versions[0].id
    assert "Rows it got wrong" in best.mutation_prompt and best.metrics["val"] == 1.0
    assert result.calls <= result.projected_calls


def test_no_improvement_stops_after_patience_and_the_initial_prompt_stays(servers):
    model, mutator = servers
    mutator.default = Reply(text="```\nTell me about {content}\n```")
    tuner = MultiClassPromptTuner(client_of(model), ["positive", "negative", "neutral"],
                                  mutator_client=client_of(mutator), candidates_per_round=1, patience=2)
    result = tuner.tune(TRAIN + VAL, "Review: {content}", max_iterations=10, seed=1)   # validation split off
    assert result.stopped == "no improvement" and result.best is result.initial


def test_bad_input_and_the_budget(servers):
    model, mutator = servers
    tuner = ClassificationPromptTuner(client_of(model), labels=("positive", "negative"),
                                      mutator_client=client_of(mutator))
    with pytest.raises(DataError, match="validation_data"):
        tuner.tune(TRAIN[:2], "Review: {content}")
    with pytest.raises(DataError, match=r"\{text\}"):
        tuner.tune(TRAIN, "Review: {text}", validation_data=VAL)
    with pytest.raises(DataError, match="does not cover one round"):
        tuner.tune(TRAIN, "Review: {content}", validation_data=VAL, budget_calls=10)
    with pytest.raises(DataError, match="binary"):
        ClassificationPromptTuner(client_of(model), labels=("a", "b", "c"))
    mutator.default = Reply(text="```\nReview: {content}, positive or negative?\n```")
    result = tuner.tune(TRAIN, "Review: {content}", validation_data=VAL, max_iterations=50, budget_calls=40)
    assert result.projected_calls <= 40 and result.calls <= 40
    assert model.requests and len(model.requests) + len(mutator.requests) <= 40


def test_extraction_scores_fields():
    scorer = ExtractionPromptTuner(object(), ["name", "city"]).scorer()
    half = scorer.score_row('{"name": "Ada", "city": "Rome"}', {"name": "Ada", "city": "Paris"})
    assert half.value == 0.5 and "city" in half.feedback


def test_the_reflective_tuner_keeps_candidates_that_win_some_rows():
    a = Candidate("a", 1, row_scores={"0": 1.0, "1": 0.0, "2": 0.0}, train_score=1 / 3)
    b = Candidate("b", 1, row_scores={"0": 0.0, "1": 1.0, "2": 1.0}, train_score=2 / 3)
    c = Candidate("c", 1, row_scores={"0": 0.0, "1": 0.5, "2": 0.5}, train_score=1 / 3)
    assert pareto_front([a, b, c]) == [a, b]
    tuner = ReflectivePromptTuner(object(), ExactMatchScorer())
    assert tuner._next_parent(a, [a, b, c]) is b          # wins the most rows


def test_a_candidate_that_adds_a_field_or_escapes_one_is_rejected(servers):
    model, mutator = servers
    mutator.add(Reply(text="```\nThe answer is {label}. Review: {content}\n```"),    # would read the gold label
                Reply(text="```\nReview: {{content}}\n```"))                       # no field left
    tuner = ClassificationPromptTuner(client_of(model), labels=("positive", "negative"),
                                      mutator_client=client_of(mutator), candidates_per_round=2, patience=1)
    result = tuner.tune(TRAIN, "Review: {content}", validation_data=VAL, max_iterations=1)
    assert len(result.rejected) == 2 and "added ['label']" in result.rejected[0]
    assert "dropped ['content']" in result.rejected[1] and result.best is result.initial
