"""``%load_ext workbench``: registers the ``%%aimu`` / ``%aimu`` magics and keeps the session.

The session holds the session model (default ``$WORKBENCH_MODEL``, else
``hf:workbench-tiny``) and one client per model string, so a conversation continues
across cells and switching models back and forth keeps each conversation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_SESSION_ATTR = "_workbench_session"


class NotebookSession:
    def __init__(self):
        from workbench.api import default_model

        self.model: str = default_model()
        self.clients: dict[str, Any] = {}
        self.checkpoints: dict[str, Path] = {}
        self.inserted: dict[str, str] = {}    # cell -> the code --format code put below it
        self.last = None

    @staticmethod
    def cell_key(shell) -> str:
        """Which cell is running: JupyterLab's cell id when the request carries one, else
        the cell's source (a re-run of the same cell gives the same key either way)."""
        try:
            parent = shell.kernel.get_parent() if getattr(shell, "kernel", None) is not None else {}
        except Exception:
            parent = {}
        cell_id = ((parent or {}).get("metadata") or {}).get("cellId")
        if cell_id:
            return f"cell:{cell_id}"
        history = getattr(shell, "user_ns", {}).get("In") or [""]
        return "source:" + str(history[-1])

    @staticmethod
    def key(model: str) -> str:
        from workbench.models.strings import model_label

        try:
            return model_label(model)
        except Exception:
            return model

    def client(self, model: str, *, system: str | None = None, new: bool = False):
        """The session's client for ``model`` (created on first use)."""
        from workbench.api import client as make_client

        key = self.key(model)
        existing = self.clients.get(key)
        if existing is None:
            existing = make_client(model, system=system)
            self.clients[key] = existing
        entry = getattr(existing, "cache_entry", None)
        if entry is not None and entry.cleared:
            # The user freed the memory (%aimu clear, the gauge's button); the next turn on
            # this model loads the weights again instead of failing until a kernel restart.
            existing.reload()
            print(f"aimu: the weights of {model} were cleared; reloaded them (the conversation is kept).")
        elif new:
            existing.reset(system if system is not None else "__keep__")
            self.checkpoints.pop(key, None)
        elif system is not None and system != existing.system_message:
            existing.system_message = system
        return existing

    def checkpoint_path(self, model: str) -> Path:
        """One checkpoint file per conversation, overwritten after every turn."""
        from workbench.notebook.checkpoint_cells import new_checkpoint_path

        key = self.key(model)
        if key not in self.checkpoints:
            self.checkpoints[key] = new_checkpoint_path("aimu-" + key.replace(":", "-"))
        return self.checkpoints[key]


def session(shell) -> NotebookSession:
    existing = getattr(shell, _SESSION_ATTR, None)
    if existing is None:
        existing = NotebookSession()
        setattr(shell, _SESSION_ATTR, existing)
    return existing


def load_ipython_extension(shell) -> None:
    from workbench.notebook import frontend_comm
    from workbench.notebook.magics import AimuMagics

    shell.register_magics(AimuMagics(shell, session(shell)))
    frontend_comm.register()


def unload_ipython_extension(shell) -> None:
    for kind in ("line", "cell"):
        shell.magics_manager.magics[kind].pop("aimu", None)
    if hasattr(shell, _SESSION_ATTR):
        delattr(shell, _SESSION_ATTR)
