"""What the built-in models' builds share: where they go, one build at a time, atomic renames.

The cache is ``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/workbench``, else
``~/.cache/workbench``. A build writes into a temporary folder next to its target and
renames it into place under a lock file, so two processes starting at once build once and
never see half a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from workbench.errors import ConfigurationError, MissingDependencyError


def cache_dir() -> Path:
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        return Path(os.environ["WORKBENCH_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "workbench"
    return Path.home() / ".cache" / "workbench"


def source_hash(names: Iterable[str]) -> str:
    """A short hash of these modules of this folder: what decides a built model's bytes."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in names:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:12]


def require(modules: tuple[str, ...], extra: str) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingDependencyError(name, extra) from exc


def prepare(root: Path, model: str) -> Path:
    """Make ``root`` and its lock file, or say which setting moves the cache."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / ".lock").touch()
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write the {model} cache at {root} ({exc.strerror or exc}): set the "
            "environment variable WORKBENCH_CACHE_DIR to a writable folder.") from exc
    return root / ".lock"


def drop_stale(root: Path, patterns: Iterable[str] = (".build-*",)) -> None:
    """Builds only run under the lock, so any temporary left in ``root`` is from a killed build."""
    for pattern in patterns:
        for stale in root.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)


def build_folder(target: Path, build: Callable[[Path], dict]) -> dict:
    """``build(tmp)`` writes the folder ``tmp``; it is renamed to ``target`` once whole."""
    shutil.rmtree(target, ignore_errors=True)        # a leftover from a crashed older layout
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        staged = Path(tmp) / target.name
        timings = build(staged)
        os.replace(staged, target)
    return timings


@contextlib.contextmanager
def locked(path: Path):
    """An exclusive lock across processes (fcntl where there is one; the renames stay atomic anyway)."""
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:   # Windows: no advisory lock, the atomic renames still keep builds whole
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def report(paths: dict[str, object], timings: dict[str, object], total_s: float) -> None:
    """What a build's command line prints: the paths, then each timing and figure."""
    for name, path in paths.items():
        print(f"{name}: {path}")
    for key, value in timings.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"total_s: {total_s:.2f}" + ("" if timings else " (already built)"))
