"""The call log on real SQLite: every surface recorded, FTS search, secrets kept out, faults."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import workbench as wb
from workbench.errors import CallLogWarning, StoreError
from workbench.testing import FakeOpenAIServer, Reply, ToolCall

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def log(tmp_path):
    path = wb.log.enable(tmp_path / "log.db")
    yield path
    wb.log.disable()


@pytest.fixture
def server():
    with FakeOpenAIServer(default=Reply(text="An octopus has three hearts.")) as fake:
        yield fake


def client_for(server, **kwargs):
    return wb.client(f"openai-compat:fake@{server.base_url}", **kwargs)


def test_chat_generate_aio_agent_and_benchmark_calls_are_all_recorded(log, server, tmp_path):
    from workbench.evals import Benchmark
    from workbench.prompts import ExactMatchScorer

    c = client_for(server, system="Be brief.")
    c.chat("Tell me about the octopus", generate_kwargs={"temperature": 0.2})
    c.generate("One fact, no history")
    asyncio.run(wb.aio.client(c).chat("And from async?"))

    @wb.tool
    def hearts(animal: str) -> str:
        """How many hearts an animal has."""
        return "3"

    server.add(Reply(tool_calls=[ToolCall("hearts", {"animal": "octopus"})]), Reply(text="Three."))
    wb.agent(client_for(server), tools=[hearts], name="zoologist").run("How many hearts?")
    Benchmark("Q: {q}", [{"q": "a", "expected": "x"}], ExactMatchScorer()).run(
        client_for(server), store=tmp_path / "runs.db", run_id="bench-7", panel=False)
    calls = wb.log.recent(10)
    assert len(calls) == 5 and wb.log.count() == 5
    bench, agent, aio_chat, gen, chat = calls                      # newest first
    assert chat["kind"] == "chat" and chat["prompt"] == "Tell me about the octopus"
    assert chat["answer"] == "An octopus has three hearts." and chat["options"]["temperature"] == 0.2
    assert chat["messages"][0] == {"role": "system", "content": "Be brief."} and chat["input_tokens"] > 0
    assert chat["duration_s"] >= 0 and chat["model"] == "openai-compat:fake" and chat["error"] is None
    assert gen["kind"] == "generate" and gen["client_id"] == chat["client_id"] == aio_chat["client_id"]
    assert aio_chat["prompt"] == "And from async?"
    assert agent["agent"] == "zoologist" and agent["answer"] == "Three."
    assert agent["tool_calls"][0]["name"] == "hearts"
    assert bench["run_id"] == "bench-7" and bench["prompt"] == "Q: a"


def test_full_text_search_prefixes_punctuation_filters_and_context_tags(log, server):
    c = client_for(server)
    with wb.log.context(experiment="b"):
        c.chat("What about cephalopods? (say it in French!)")
    server.add(Reply(text="Les poulpes."))
    c.chat("Octopodes")
    hits = wb.log.search("octopus")                      # the first answer; "Octopodes" is another word
    assert len(hits) == 1 and {"prompt", "answer", "started_at"} <= set(hits.columns)
    assert len(wb.log.search("octop*")) == 2
    assert list(wb.log.search("cephalo*")["prompt"]) == ["What about cephalopods? (say it in French!)"]
    assert len(wb.log.search('French!) "AND')) == 0                      # words, never FTS syntax
    assert len(wb.log.search("poulpes", kind="chat")) == 1 and len(wb.log.search("poulpes", kind="generate")) == 0
    assert wb.log.recent(5, experiment=None)[1]["tags"] == {"experiment": "b"}
    with pytest.raises(StoreError, match="not valid.*drop raw=True"):
        wb.log.search('"unclosed', raw=True)
    with pytest.raises(TypeError, match="Unknown filter 'colour'"):
        wb.log.recent(5, colour="red")
    assert wb.log.df(10).shape[0] == 2


def test_secrets_never_reach_the_file(log, server):
    c = wb.client("openai:gpt-4.1", api_key="sk-live-topsecret", base_url=server.base_url)
    c.chat("my key is sk-live-topsecret, keep it")
    u = wb.client(f"openai-compat:fake@http://user:hunter2@127.0.0.1:{server.port}/v1")
    u.chat("hello")
    wb.log.flush()
    calls = wb.log.recent(5)
    assert "sk-live-topsecret" not in str(calls) and "***" in calls[1]["prompt"]
    assert "hunter2" not in str(calls)
    raw = b"".join(p.read_bytes() for p in log.parent.glob("log.db*"))
    assert b"topsecret" not in raw and b"hunter2" not in raw


def test_a_failed_call_is_logged_with_its_error_and_a_failed_write_only_warns(log, server):
    c = client_for(server, retry=0)
    server.add(Reply(status=400, error="bad prompt"))
    with pytest.raises(wb.errors.BadRequestError):
        c.chat("this fails")
    failed = wb.log.recent(1)[0]
    assert failed["error"].startswith("BadRequestError") and failed["prompt"] == "this fails"
    with sqlite3.connect(log) as other:              # break the table under the writer
        other.execute("DROP TABLE calls")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert c.chat("still answered") == "An octopus has three hearts."
        wb.log.flush()
    assert any(issubclass(w.category, CallLogWarning) and "were not logged" in str(w.message) for w in seen)
    assert c.messages[-1]["content"] == "An octopus has three hearts."


def test_a_corrupt_or_unwritable_file_is_a_store_error_naming_it(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"corrupt\.db.*not a SQLite database"):
        wb.log.enable(bad)
    with pytest.raises(StoreError, match="/proc/"):
        wb.log.enable("/proc/self/no/such/log.db")
    assert not wb.log.enabled()


def test_a_file_locked_by_another_process_is_a_store_error(tmp_path, monkeypatch, hold_write_lock):
    import workbench.log.store as store

    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.3)
    with hold_write_lock(tmp_path / "locked.db"), pytest.raises(StoreError, match=r"locked\.db.*another process holds"):
        wb.log.enable(tmp_path / "locked.db")


def test_workbench_log_env_turns_it_on_in_a_fresh_process(server, tmp_path):
    code = ("import workbench as wb\n"
            f"wb.client('openai-compat:fake@{server.base_url}').chat('from the environment')\n"
            "wb.log.flush()\n")
    env = dict(os.environ, WORKBENCH_LOG="1", WORKBENCH_LOG_PATH=str(tmp_path / "env.db"), PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    calls = wb.log.recent(5, store=tmp_path / "env.db")
    assert [c["prompt"] for c in calls] == ["from the environment"]


def test_reading_without_a_log_names_how_to_turn_it_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_LOG_PATH", raising=False)
    with pytest.raises(StoreError, match=r"wb\.log\.enable\(\)"):
        wb.log.recent()
