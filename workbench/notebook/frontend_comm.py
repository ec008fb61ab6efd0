"""The kernel's side of the JupyterLab extension (extensions/aimu-workbench).

Each notebook's frontend opens a comm with target ``aimu-workbench`` (so the link
survives page reloads and second tabs). Over it the kernel sends

``{"type": "gauge", ...}``, the weight-cache totals for the status bar, when the comm
opens and after every load or clear (the cache's ``subscribe`` callback), and receives
``{"type": "clear"}`` (free every cached weight), ``{"type": "refresh"}`` and
``{"type": "regenerate", "cell_id"}`` (the Regenerate button: the next run of that cell
replaces its last exchange instead of adding a turn).

After a failed or interrupted run the kernel opens an ``aimu-workbench-upsert`` comm with
``{"cell_id", "key", "code"}``: the code that resumes the run, for the frontend to put into
the cell below the failed one (or into the resume cell already there, found by ``key`` in
its metadata).

:func:`register` runs when workbench is imported in a kernel and on ``%load_ext
workbench``; it also announces itself (a short-lived ``aimu-workbench-hello`` comm), so
a frontend that had found no workbench in this kernel opens its comm now. Outside a kernel
everything here does nothing. Only modules the kernel already imported are used here.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

TARGET = "aimu-workbench"
HELLO_TARGET = "aimu-workbench-hello"      # kernel-opened: "workbench is here now"
UPSERT_TARGET = "aimu-workbench-upsert"    # kernel-opened: a resume cell to insert or replace

log = logging.getLogger(__name__)
_lock = threading.Lock()
_comms: dict[Any, str] = {}        # open comm -> the frontend session (client id) that opened it
_state: dict[str, Any] = {"kernel": None, "subscribed": False}
_regenerate: set[str] = set()      # cells whose next run replaces their last exchange


def _kernel() -> Any:
    """The running ipykernel's kernel, or None (a terminal, a script, no ipykernel)."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def register() -> bool:
    """Register the comm target in this kernel (once per kernel); True when registered."""
    kernel = _kernel()
    manager = getattr(kernel, "comm_manager", None)
    if manager is None:
        return False
    with _lock:
        if _state["kernel"] is kernel:
            return True
        _state["kernel"] = kernel
    manager.register_target(TARGET, _on_open)
    _announce()
    return True


def _announce() -> None:
    # With no frontend listening nothing happens; the next page load opens the comm anyway.
    _open_and_close(HELLO_TARGET, {"target": TARGET})


def _on_open(comm: Any, msg: dict[str, Any]) -> None:
    comm.on_msg(lambda message: _on_message(comm, message))
    comm.on_close(lambda _message: _forget(comm))
    with _lock:
        _comms[comm] = _session_of(msg)
        subscribe = not _state["subscribed"]
        _state["subscribed"] = True
    try:
        if subscribe:
            from workbench.models.local import weights

            weights.subscribe(_on_cache_event)
        _send(comm, gauge_message())
    except Exception:  # a broken gauge must not leave a half-open link
        _forget(comm)
        raise


def _session_of(msg: dict[str, Any] | None) -> str:
    return str(((msg or {}).get("header") or {}).get("session") or "")


def _forget(comm: Any) -> None:
    with _lock:
        _comms.pop(comm, None)


def _on_message(comm: Any, msg: dict[str, Any]) -> None:
    data = (msg.get("content") or {}).get("data") or {}
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "clear":
        from workbench.notebook.memory_rows import clear_entry

        freed = clear_entry(None)    # each clear notifies: every frontend gets the new gauge
        _send(comm, {**gauge_message(), "type": "cleared", "freed": freed})
    elif kind == "refresh":
        _send(comm, gauge_message())
    elif kind == "regenerate" and data.get("cell_id"):
        with _lock:
            _regenerate.add(str(data["cell_id"]))


def take_regenerate(cell_id: str | None) -> bool:
    """Whether the frontend's Regenerate button asked that this run of ``cell_id`` replace the
    cell's last exchange (asked once: the request is consumed)."""
    if not cell_id:
        return False
    with _lock:
        if cell_id in _regenerate:
            _regenerate.discard(cell_id)
            return True
    return False


def _on_cache_event(_event: Any) -> None:
    if connected():
        broadcast(gauge_message())


def _send(comm: Any, data: dict[str, Any]) -> bool:
    try:
        comm.send(data)
        return True
    except Exception:  # a closed comm or a kernel shutting down
        _forget(comm)
        return False


def broadcast(data: dict[str, Any]) -> int:
    """Send ``data`` to every open frontend; how many got it."""
    with _lock:
        comms = list(_comms)
    return sum(_send(c, data) for c in comms)


def connected(session: str | None = None) -> bool:
    """Whether a frontend has the link open (``session``: the frontend that sent that request)."""
    with _lock:
        return bool(_comms) if session is None else session in _comms.values()


def requesting_session() -> str:
    """The client id of the frontend whose request is running (JupyterLab: one per page)."""
    kernel = _kernel()
    try:
        return _session_of(kernel.get_parent() if kernel is not None else None)
    except Exception:
        return ""


def gauge_message() -> dict[str, Any]:
    """The status-bar figures: the bytes of cached weights, the models, each GPU's memory."""
    from workbench.models.local.memory import format_bytes
    from workbench.notebook.memory_rows import device_rows, entry_rows

    rows = entry_rows()
    total = sum(int(r["bytes"]) for r in rows)
    models = len(rows)
    text = "none loaded" if not models else f"{models} model{'s' if models != 1 else ''} · {format_bytes(total)}"
    # kind:model only: a key's load kwargs may hold a token
    title = "\n".join([f"aimu-workbench weight cache: {text}"]
                      + [f"  {r['kind']}:{r['model_id']}: {format_bytes(r['bytes'])}" for r in rows])
    devices = []
    for row in device_rows():
        if str(row["name"]).startswith("cuda"):
            devices.append({"name": row["name"], "used": row["used"], "total": row["total"],
                            "text": f"{row['name']} {format_bytes(row['used'])} / {format_bytes(row['total'])}"})
    return {"type": "gauge", "models": models, "bytes": total, "text": text, "title": title,
            "devices": devices}


def running_cell_id() -> str | None:
    """The id of the cell being run (JupyterLab and Notebook 7 send it with the request)."""
    kernel = _kernel()
    if kernel is None:
        return None
    try:
        parent = kernel.get_parent() or {}
    except Exception:
        return None
    cell_id = (parent.get("metadata") or {}).get("cellId")
    return str(cell_id) if cell_id else None


def upsert_resume(code: str, cell_id: str | None = None) -> bool:
    """Ask the frontend to put ``code`` into the resume cell of the running cell (inserted
    below it once, then replaced). The request is a comm the kernel opens: it travels with
    the cell's output, so it arrives even when the frontend's own comm is still queued
    behind this cell (Run All right after ``import workbench``). True when a frontend is
    known to have the extension (its comm is open); without it, the copy of the code in the
    output is the path."""
    cell_id = cell_id or running_cell_id()
    if not cell_id or _kernel() is None:
        return False
    session = requesting_session()
    # "session": only the page that ran the cell applies it (other tabs on this kernel do not)
    _open_and_close(UPSERT_TARGET, {"cell_id": cell_id, "key": f"resume:{cell_id}", "code": code,
                                    "session": session})
    return bool(session) and connected(session)


def _open_and_close(target: str, data: dict[str, Any]) -> None:
    try:
        import comm

        comm.create_comm(target_name=target, data=data).close()
    except Exception:  # an old ipykernel, or a kernel shutting down
        log.debug("could not send %s", target, exc_info=True)
