"""A real Jupyter kernel for tests: run code, collect every iopub message it produced."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parents[2]


class KernelSession:
    def __init__(self, cwd: Path):
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)
        self.run(f"import sys; sys.path.insert(0, {str(REPO)!r})")

    def run(self, code: str, timeout: float = 120, *, fails: bool = False, cell_id: str | None = None) -> list[dict]:
        """Execute ``code``; return its iopub messages. Raises on an error reply, or with
        ``fails=True`` when the cell did *not* end in error. ``cell_id``: sent in the
        request's metadata, as JupyterLab does."""
        msg_id = self.send("execute_request", {"code": code, "silent": False, "store_history": True,
                                               "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                           metadata={"cellId": cell_id} if cell_id else None)
        messages = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        if fails:
            if reply["content"]["status"] != "error":
                raise AssertionError("the cell was expected to fail but succeeded:\n" + stream_text(messages))
        elif reply["content"]["status"] != "ok":
            raise AssertionError(f"cell failed: {reply['content'].get('ename')}: {reply['content'].get('evalue')}\n"
                                 + stream_text(messages))
        return messages

    def send(self, msg_type: str, content: dict, metadata: dict | None = None) -> str:
        """Send a shell message (an execute_request, a comm_open from "the frontend"); its id."""
        msg = self.kc.session.msg(msg_type, content=content, metadata=metadata or {})
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def iopub(self, timeout: float = 5) -> list[dict]:
        """Every iopub message that arrives within ``timeout`` seconds of quiet."""
        import queue

        out = []
        while True:
            try:
                out.append(self.kc.get_iopub_msg(timeout=timeout))
            except queue.Empty:
                return out

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def stream_text(messages: list[dict], name: str | None = None) -> str:
    return "".join(m["content"]["text"] for m in messages
                   if m["msg_type"] == "stream" and (name is None or m["content"]["name"] == name))


def error_text(messages: list[dict]) -> str:
    """What the notebook shows for the cell's error (its rendered traceback lines, no ANSI)."""
    import re

    lines = [line for m in messages if m["msg_type"] == "error" for line in m["content"]["traceback"]]
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(lines))


def custom_messages(messages: list[dict], comm_id: str) -> list[dict]:
    return [m for m in messages if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
            and m["content"]["data"].get("method") == "custom"]


def python() -> str:
    return sys.executable
