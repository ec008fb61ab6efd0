"""The kernel's side of the JupyterLab extension, through a real kernel and its wire messages:
the hello announcement, the gauge over the comm the frontend opens (a load and a clear),
the upsert that follows a failed run, and silence where no frontend asked."""

from __future__ import annotations

import uuid

import pytest

from nb_kernel_session import KernelSession, stream_text


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    session = KernelSession(tmp_path_factory.mktemp("frontend"))
    yield session
    session.close()


def comm_opens(messages, target):
    return [m for m in messages if m["msg_type"] == "comm_open" and m["content"]["target_name"] == target]


def gauges(messages, comm_id):
    return [m["content"]["data"] for m in messages
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("type") in ("gauge", "cleared")]


def test_failure_before_any_frontend_link_still_sends_the_upsert_and_no_gauge(kernel):
    messages = kernel.run("import workbench as wb", cell_id="first")
    hello = comm_opens(messages, "aimu-workbench-hello")
    assert len(hello) == 1 and hello[0]["content"]["data"] == {"target": "aimu-workbench"}
    messages = kernel.run("%load_ext workbench\nfrom workbench.testing import FakeOpenAIServer, Reply\n"
                          "server = FakeOpenAIServer(default=Reply(text='Later answer.')).start()\n"
                          "M = 'openai-compat:fake@' + server.base_url\n"
                          "server.add(Reply(text='one two three four five six ' * 4, drop_after=3))")
    assert comm_opens(messages, "aimu-workbench-hello") == []          # announced once per kernel
    failed = kernel.run("%%aimu {M}\nTell a story.", fails=True, cell_id="cell-A")
    upserts = comm_opens(failed, "aimu-workbench-upsert")
    assert len(upserts) == 1
    data = upserts[0]["content"]["data"]
    assert data["cell_id"] == "cell-A" and data["key"] == "resume:cell-A"
    assert data["code"].startswith("%%aimu openai-compat:fake@") and "--restore" in data["code"]
    # no frontend has opened the comm: the kernel does not claim the cell below holds it
    assert not any("cell below holds" in line for line in str(failed).splitlines())
    # without a cell id (a console, a client that sends none) nothing is sent
    kernel.run("server.add(Reply(text='one two three four five six ' * 4, drop_after=3))")
    plain = kernel.run("%%aimu {M}\nAgain.", fails=True)
    assert comm_opens(plain, "aimu-workbench-upsert") == []


def test_the_frontend_comm_gets_the_gauge_on_open_after_a_load_and_after_a_clear(kernel):
    kernel.run("%load_ext workbench\nimport workbench as wb")       # (each test runs alone too)
    comm_id = uuid.uuid4().hex
    kernel.send("comm_open", {"comm_id": comm_id, "target_name": "aimu-workbench", "data": {"type": "hello"}})
    first = gauges(kernel.iopub(timeout=3), comm_id)
    assert len(first) == 1 and first[0]["bytes"] == 0 and first[0]["text"] == "none loaded"
    assert all(set(d) == {"name", "used", "total", "text"} and d["name"].startswith("cuda")
               for d in first[0]["devices"])                           # GPUs only (none on CI)

    loaded = kernel.run("c = wb.client('hf:workbench-tiny')\nc.chat('Hi', generate_kwargs={'max_tokens': 2})")
    after_load = gauges(loaded, comm_id) or gauges(kernel.iopub(timeout=2), comm_id)
    assert after_load and after_load[-1]["bytes"] > 0 and after_load[-1]["models"] == 1
    assert "1 model" in after_load[-1]["text"] and "workbench-tiny" in after_load[-1]["title"]

    kernel.send("comm_msg", {"comm_id": comm_id, "data": {"type": "clear"}})
    cleared = gauges(kernel.iopub(timeout=3), comm_id)
    assert cleared and cleared[-1]["type"] == "cleared" and cleared[-1]["freed"] > 0
    assert cleared[-1]["bytes"] == 0

    # the failure now names the cell below (the extension is known to be connected)
    kernel.run("from workbench.testing import FakeOpenAIServer, Reply\n"
               "s2 = FakeOpenAIServer(default=Reply(text='x')).start()\n"
               "s2.add(Reply(text='one two three four five six ' * 4, drop_after=3))")
    failed = kernel.run("%%aimu openai-compat:fake@{s2.base_url}\nTell.", fails=True, cell_id="cell-B")
    shown = "\n".join(line for m in failed if m["msg_type"] == "error" for line in m["content"]["traceback"])
    assert "the cell below holds the code" in shown
    resume = kernel.run("%aimu resume", cell_id="cell-C")
    again = comm_opens(resume, "aimu-workbench-upsert")                 # the same cell, not a new one
    assert len(again) == 1 and again[0]["content"]["data"]["key"] == "resume:cell-B"
    assert "the cell below the failed cell holds the resume code" in stream_text(resume)

    kernel.send("comm_close", {"comm_id": comm_id, "data": {}})
    kernel.iopub(timeout=1)
    quiet = kernel.run("c.reload()")
    assert gauges(quiet, comm_id) == []                                # a closed comm gets nothing


def test_regenerate_from_the_frontend_replaces_the_cells_last_exchange_once(kernel):
    kernel.run("%load_ext workbench\nimport workbench as wb\nfrom workbench.testing import FakeOpenAIServer, Reply\n"
               "s3 = FakeOpenAIServer(default=Reply(text='Later.')).start()\n"
               "M3 = 'openai-compat:fake3@' + s3.base_url\n"
               "s3.add(Reply(text='First.'), Reply(text='Second.'))")
    comm_id = uuid.uuid4().hex
    kernel.send("comm_open", {"comm_id": comm_id, "target_name": "aimu-workbench", "data": {"type": "hello"}})
    kernel.iopub(timeout=2)
    kernel.run("%%aimu {M3}\nSay it.", cell_id="regen")
    kernel.send("comm_msg", {"comm_id": comm_id, "data": {"type": "regenerate", "cell_id": "regen"}})
    kernel.run("%%aimu {M3}\nSay it.", cell_id="regen")
    kernel.run("%%aimu {M3}\nSay it.", cell_id="regen")       # a plain re-run: a new turn
    shown = stream_text(kernel.run(
        "from workbench.notebook.extension import session\n"
        "print([(m['role'], m.get('content')) for m in session(get_ipython()).client(M3).messages])"))
    assert "[('user', 'Say it.'), ('assistant', 'Second.'), ('user', 'Say it.'), ('assistant', 'Later.')]" in shown
    # a regenerate with nothing to replace says so and sends the prompt as a new turn
    kernel.send("comm_msg", {"comm_id": comm_id, "data": {"type": "regenerate", "cell_id": "other"}})
    fresh = kernel.run("%%aimu {M3} --new\nSomething else.", cell_id="other")
    assert "no earlier answer to this prompt" in stream_text(fresh)
    kernel.send("comm_close", {"comm_id": comm_id, "data": {}})
