"""Checkpoint cells: runs started from a notebook save themselves, and a failed or
interrupted run leaves behind the exact cell that restores and resumes it.

Checkpoints go to ``.workbench/checkpoints/`` under the current directory (the notebook's
folder in Jupyter), one file per run, overwritten after every completed model turn, so
the newest file always holds the last consistent state. Files are written by
``workbench.checkpoints.save_checkpoint`` (atomic, secrets scrubbed).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

CHECKPOINT_DIR = Path(".workbench") / "checkpoints"
CONTINUE_PROMPT = "Continue where you left off."


def checkpoint_dir() -> Path:
    return Path(os.getcwd()) / CHECKPOINT_DIR


def new_checkpoint_path(label: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-")[:48] or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return checkpoint_dir() / f"{slug}-{stamp}-{uuid.uuid4().hex[:6]}.json"


def display_path(path: Path) -> str:
    """The path as the resume code writes it: relative to cwd when it is under it."""
    try:
        return Path(path).resolve().relative_to(Path(os.getcwd()).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def save(runner: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    from workbench.checkpoints import save_checkpoint

    save_checkpoint(runner, str(path))
    return path


def load(path: str | Path) -> dict[str, Any]:
    from workbench.checkpoints import load_checkpoint

    return load_checkpoint(str(path))


class RunCheckpoints:
    """Saves one runner's state to one file, quietly: a failing save never breaks the run."""

    def __init__(self, runner: Any, label: str, path: Path | None = None):
        self.runner = runner
        self.path = Path(path) if path is not None else new_checkpoint_path(label)
        self.saved = False
        self.error: str = ""

    def save(self) -> bool:
        try:
            save(self.runner, self.path)
        except Exception as exc:  # reported in the output, never raised into the stream
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        self.saved = True
        return True


def runner_variable(runner: Any, namespace: dict[str, Any] | None) -> str | None:
    for name, value in (namespace or {}).items():
        if value is runner and not name.startswith("_"):
            return name
    return None


def resume_code_for_runner(var: str, path: Path, *, is_client: bool) -> str:
    where = display_path(path)
    call = "chat" if is_client else "run"
    return (f"import workbench as wb\n"
            f"{var}.restore(wb.load_checkpoint({where!r}))\n"
            f"wb.show({var}.{call}({CONTINUE_PROMPT!r}, stream=True))")


def resume_code_for_magic(model: str, path: Path) -> str:
    return f"%%aimu {model} --restore {display_path(path)}\n{CONTINUE_PROMPT}"


def offer_next_cell(code: str) -> bool:
    """Pre-fill the next cell (Jupyter) with ``code``; False where there is no shell."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.set_next_input(code, replace=False)
    return True


def list_checkpoints(root: Path | None = None) -> list[dict[str, Any]]:
    """Checkpoints under ``.workbench/checkpoints/``, newest first."""
    root = root or checkpoint_dir()
    if not root.is_dir():
        return []
    rows = []
    for path in sorted(root.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        info: dict[str, Any] = {"path": display_path(path), "bytes": path.stat().st_size,
                                "modified": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(path.stat().st_mtime))}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            info["type"] = data.get("type")
            info["name"] = data.get("name")
            info["messages"] = len(data.get("messages") or [])
        except (OSError, ValueError, AttributeError):
            info["type"] = "unreadable"
        rows.append(info)
    return rows
