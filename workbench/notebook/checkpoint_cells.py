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
KEEP_PER_LABEL = 5          # older checkpoints of the same model or runner are pruned
_NAME = re.compile(r"^(?P<label>.+)-\d{8}-\d{6}-[0-9a-f]{6}\.json$")


def checkpoint_dir() -> Path:
    return Path(os.getcwd()) / CHECKPOINT_DIR


def slug(label: str) -> str:
    """A file-name-safe label without URLs or hosts (``openai-compat:m@http://h:1/v1`` -> ``openai-compat-m``)."""
    label = re.split(r"@|://", label, maxsplit=1)[0]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.")[:48] or "run"


def new_checkpoint_path(label: str, *, keep: int = KEEP_PER_LABEL) -> Path:
    """A fresh checkpoint file name for ``label``; prunes that label's older files to the
    newest ``keep - 1`` (so with the new one there are at most ``keep``)."""
    name = slug(label)
    clean_checkpoints(keep_per_label=max(keep - 1, 0), only=name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return checkpoint_dir() / f"{name}-{stamp}-{uuid.uuid4().hex[:6]}.json"


def clean_checkpoints(*, keep_per_label: int = 1, keep: set[Path] | None = None, only: str | None = None,
                      root: Path | None = None) -> list[Path]:
    """Delete all but the newest ``keep_per_label`` checkpoints of each label (``only``: of
    one label); paths in ``keep`` stay. Returns the deleted paths."""
    root = root or checkpoint_dir()
    if not root.is_dir():
        return []
    groups: dict[str, list[Path]] = {}
    for path in root.glob("*.json"):
        match = _NAME.match(path.name)
        if match and (only is None or match["label"] == only):
            groups.setdefault(match["label"], []).append(path)
    removed = []
    for paths in groups.values():
        paths.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
        for path in paths[keep_per_label:]:
            if keep and path.resolve() in keep:
                continue
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


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


def resume_code_for_magic(model: str | None, path: Path) -> str:
    """The cell that resumes a %%aimu conversation. A model string that may carry a secret
    (user info or a query in its URL) is left out: the session model is used instead."""
    from workbench.models.redact import shareable_model_string

    safe = shareable_model_string(model) if model else None
    head = f"%%aimu {safe} " if safe else "%%aimu "
    return f"{head}--restore {display_path(path)}\n{CONTINUE_PROMPT}"


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


# The resume code of the latest failed or interrupted run in this kernel, for %aimu resume
# (a failed cell cannot pre-fill the next one: JupyterLab drops set_next_input on error),
# and the id of the cell that failed (JupyterLab sends it with each request).
_RESUME: dict[str, Any] = {"code": None, "offered": False, "cell_id": None}


def remember_resume(code: str) -> bool:
    """Keep ``code`` for %aimu resume, and where the JupyterLab extension is installed, have
    it put the code into the resume cell below the running cell (inserted once, then
    replaced: re-running a failed cell never stacks copies). True when the extension is
    known to be connected (then the output says the cell below holds the code)."""
    from workbench.notebook import frontend_comm

    cell_id = frontend_comm.running_cell_id()
    if code != _RESUME["code"] or cell_id != _RESUME["cell_id"]:
        _RESUME.update(code=code, offered=False, cell_id=cell_id)
    return offer_resume_again()


def pending_resume() -> tuple[str | None, bool]:
    """(the latest resume code, whether %aimu resume already put it into a cell)."""
    return _RESUME["code"], _RESUME["offered"]


def offer_resume_again() -> bool:
    """Through the extension: put the latest resume code into the failed cell's resume cell
    (the same one, never a second copy). False without the extension or a cell id."""
    from workbench.notebook import frontend_comm

    code, cell_id = _RESUME["code"], _RESUME["cell_id"]
    if code is None or not cell_id or not frontend_comm.upsert_resume(code, cell_id):
        return False
    _RESUME["offered"] = True
    return True


def mark_resume_offered() -> None:
    _RESUME["offered"] = True
