"""ConversationManager on real SQLite: attach, resume in another process, faults."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import workbench as wb
from workbench.errors import ConversationError, StoreError
from workbench.history import ConversationManager, ConversationSaveWarning
from workbench.testing import FakeOpenAIServer, Reply, ToolCall

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server():
    with FakeOpenAIServer(default=Reply(text="Anemones and crabs.")) as fake:
        yield fake


def model_of(server) -> str:
    return f"openai-compat:fake@{server.base_url}"


def test_attach_saves_each_turn_and_another_process_resumes(server, tmp_path):
    store = ConversationManager(tmp_path / "chats.db")
    c = wb.client(model_of(server), system="You know tide pools.")
    assert store.attach(c, name="tide-pools") == "tide-pools"
    server.add(Reply(text="Anemones.", thinking="Think of the rocks."))
    c.chat("What lives in tide pools?")
    assert [m["role"] for m in store.load("tide-pools")] == ["system", "user", "assistant"]
    assert store.load("tide-pools")[-1]["thinking"] == "Think of the rocks."
    listed = store.list()
    assert listed[0]["name"] == "tide-pools" and listed[0]["turns"] == 1 and listed[0]["first"].startswith("What")
    code = ("import workbench as wb\nfrom workbench.history import ConversationManager\n"
            f"store = ConversationManager({str(tmp_path / 'chats.db')!r})\n"
            "c = store.resume('tide-pools')\n"
            "print(len(c.messages), c.system_message)\n"
            "c.chat('And crabs?')\n")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(REPO)),
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split()[0] == "3" and "You know tide pools." in out
    messages = store.load("tide-pools")
    assert [m.get("content") for m in messages if m["role"] == "user"] == ["What lives in tide pools?", "And crabs?"]
    assert len(messages) == 5


def test_tool_calls_are_kept_and_an_aio_client_saves_too(server, tmp_path):
    store = ConversationManager(tmp_path / "chats.db")

    @wb.tool
    def depth(pool: str) -> str:
        """The depth of a pool."""
        return "30 cm"

    c = wb.client(model_of(server), tools=[depth])
    store.attach(c, "tools")
    server.add(Reply(tool_calls=[ToolCall("depth", {"pool": "east"})]), Reply(text="30 cm deep."))
    c.chat("How deep is the east pool?")
    saved = store.load("tools")
    assert saved[1]["tool_calls"][0]["function"]["name"] == "depth" and saved[2]["role"] == "tool"
    a = wb.aio.client(wb.client(model_of(server)))
    store.attach(a, "async")
    asyncio.run(a.chat("From a task"))
    assert [m["role"] for m in store.load("async")] == ["user", "assistant"]


def test_a_reset_history_replaces_the_stored_one_and_the_manager_operations(server, tmp_path):
    store = ConversationManager(tmp_path / "chats.db")
    c = wb.client(model_of(server))
    store.attach(c, "a")
    c.chat("one")
    c.chat("two")
    c.reset()
    c.chat("three")
    assert [m["content"] for m in store.load("a")] == ["three", "Anemones and crabs."]
    store.rename("a", "b")
    assert "b" in store and "a" not in store and len(store) == 1
    with pytest.raises(ConversationError, match="No conversation 'a'.*Stored: b"):
        store.load("a")
    md = store.export("b", tmp_path / "b.md")
    assert md.startswith("# b") and "**user**" in md and (tmp_path / "b.md").read_text() == md
    data = json.loads(store.export("b"))
    assert data["name"] == "b" and len(data["messages"]) == 2
    store.save(c, "copy")
    store.delete("b")
    assert [r["name"] for r in store.list()] == ["copy"]
    assert sqlite3.connect(tmp_path / "chats.db").execute("SELECT count(*) FROM messages WHERE name='b'").fetchone()[0] == 0


def test_resuming_with_another_model_is_refused_unless_asked(server, tmp_path):
    store = ConversationManager(tmp_path / "chats.db")
    c = wb.client(model_of(server))
    c.chat("hi")
    store.save(c, "x")
    with pytest.raises(ConversationError, match="was held with openai-compat:fake, not hf:workbench-tiny.*allow_model_change=True"):
        store.resume("x", "hf:workbench-tiny")
    other = store.resume("x", f"openai-compat:other@{server.base_url}", allow_model_change=True, attach=False)
    assert len(other.messages) == 2


def test_secrets_are_not_stored(server, tmp_path):
    store = ConversationManager(tmp_path / "chats.db")
    c = wb.client("openai:gpt-4.1", api_key="sk-live-topsecret", base_url=server.base_url)
    store.attach(c, "keys")
    c.chat("my key is sk-live-topsecret")
    u = wb.client(f"openai-compat:fake@http://user:hunter2@127.0.0.1:{server.port}/v1")
    store.attach(u, "url")
    u.chat("hello")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("chats.db*"))
    assert b"topsecret" not in raw and b"hunter2" not in raw
    assert store.load("keys")[0]["content"] == "my key is ***"
    with pytest.raises(ConversationError, match="with a credential, which was not stored: pass base_url="):
        store.resume("url")
    again = store.resume("url", base_url=f"http://user:hunter2@127.0.0.1:{server.port}/v1")
    assert len(again.messages) == 2


def test_a_save_that_fails_warns_and_the_next_turn_saves_it(server, tmp_path):
    store = ConversationManager(tmp_path / "chats.db")
    c = wb.client(model_of(server))
    store.attach(c, "w")
    blocker = sqlite3.connect(tmp_path / "chats.db", isolation_level=None, timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")
    store._conn.execute("PRAGMA busy_timeout=100")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert c.chat("first") == "Anemones and crabs."        # the turn completes
    assert any(issubclass(w.category, ConversationSaveWarning) for w in seen)
    blocker.execute("ROLLBACK")
    c.chat("second")
    assert [m["content"] for m in store.load("w") if m["role"] == "user"] == ["first", "second"]


KILLED_SAVE = """
import sys, time
sys.path.insert(0, {repo!r})
import workbench as wb
from workbench.history import ConversationManager
from workbench.history import conversations as conv
store = ConversationManager({db!r})
c = wb.client("openai-compat:fake@{url}")
store.attach(c, "k")
c.chat("committed turn")
real = conv.ConversationManager._write_messages
def slow(self, conn, name, start, encoded, *args, **kwargs):
    conn.execute("INSERT INTO messages (name, seq, message) VALUES (?,?,?)", (name, start, encoded[0]))
    print("inside the save", flush=True)
    time.sleep(60)
conv.ConversationManager._write_messages = slow
c.chat("the turn being saved")
"""


def test_a_kill_during_a_save_leaves_the_last_committed_turn(server, tmp_path):
    db = tmp_path / "chats.db"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE.format(repo=str(REPO), db=str(db), url=server.base_url)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "inside the save"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    store = ConversationManager(db)
    assert [m["content"] for m in store.load("k")] == ["committed turn", "Anemones and crabs."]
    assert store.info("k")["messages"] == 2
    c = store.resume("k")
    c.chat("after the kill")
    assert len(store.load("k")) == 4


def test_corrupt_locked_and_read_only_files_are_store_errors_naming_them(tmp_path, monkeypatch, hold_write_lock):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"garbage" * 500)
    with pytest.raises(StoreError, match=r"corrupt\.db.*not a SQLite database"):
        ConversationManager(bad)
    import workbench.log.store as log_store

    monkeypatch.setattr(log_store, "BUSY_TIMEOUT_S", 0.3)
    locked = tmp_path / "locked.db"
    with hold_write_lock(locked), pytest.raises(StoreError, match=r"locked\.db.*another process holds a write lock"):
        ConversationManager(locked)
    if shutil.which("chattr") is None:
        pytest.skip("chattr is needed to make a file read-only for root")
    ro = tmp_path / "ro.db"
    sqlite3.connect(ro).execute("CREATE TABLE t (a)").connection.close()
    if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
        pytest.skip("this file system does not take chattr +i")
    try:
        with pytest.raises(StoreError, match=r"ro\.db.*read-only"):
            ConversationManager(ro).save(wb.client("hf:workbench-tiny"), "x")
    finally:
        subprocess.run(["chattr", "-i", str(ro)])
