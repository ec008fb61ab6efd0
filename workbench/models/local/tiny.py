"""The built-in model ``workbench-tiny``: built offline on first use, in seconds, deterministically.

    paths = ensure_tiny()          # TinyPaths(hf_dir=..., gguf=...), built if missing
    tiny_hf_dir(), tiny_gguf_path()

What gets built, into ``<cache>/tiny/<TINY_ID>-<version>/`` where the cache is
``$WORKBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/workbench``, else ``~/.cache/workbench``:

- ``hf/``: a byte-level BPE tokenizer trained in-process on the corpus of ``tiny_corpus``
  (ChatML control tokens are special; ``<think>``/``<tool_call>`` are ordinary added tokens
  so decoding keeps them) and a small Llama causal LM trained on the same corpus until
  greedy decoding reproduces every script exactly and stops at ``<|im_end|>``.
- ``workbench-tiny.gguf``: the same weights for llama.cpp (see ``gguf_export``).

The version is a hash of this module, the corpus and the exporter, so changing any of them
builds a fresh folder. Builds go to a temporary folder and are renamed into place, under a
lock file, so two processes starting at once build once and never see half a model.

Run ``python -m workbench.models.local.tiny`` to build and print the paths and timings.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import ConfigurationError, MissingDependencyError
from workbench.models.local import gguf_export, tiny_train
from workbench.models.local.tiny_corpus import TINY_ID

__all__ = ["TINY_ID", "TinyPaths", "ensure_tiny", "tiny_hf_dir", "tiny_gguf_path", "tiny_root"]

GGUF_NAME = f"{TINY_ID}.gguf"
_SOURCES = ("tiny.py", "tiny_corpus.py", "tiny_train.py", "gguf_export.py")

# Timings of the last build in this process (seconds by step), for the CLI and benchmarks.
LAST_BUILD: dict[str, float] = {}


@dataclass(frozen=True)
class TinyPaths:
    hf_dir: Path
    gguf: Path


def cache_dir() -> Path:
    if os.environ.get("WORKBENCH_CACHE_DIR"):
        return Path(os.environ["WORKBENCH_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "workbench"
    return Path.home() / ".cache" / "workbench"


def version() -> str:
    """A short hash of everything that decides the model's bytes."""
    global _VERSION
    if _VERSION is None:
        here = Path(__file__).parent
        digest = hashlib.sha256()
        for name in _SOURCES:
            digest.update((here / name).read_bytes())
        _VERSION = digest.hexdigest()[:12]
    return _VERSION


# Hashed at import, next to importing the code it describes: a long-lived process must not
# build under the hash of sources edited after it imported the old ones.
_VERSION: str | None = None
version()


def tiny_root() -> Path:
    return cache_dir() / "tiny" / f"{TINY_ID}-{version()}"


def tiny_hf_dir() -> Path:
    """The transformers folder of workbench-tiny (built if missing)."""
    root = tiny_root()
    if not _hf_complete(root / "hf"):
        _build(root, force=False, gguf=False)
    return root / "hf"


def tiny_gguf_path() -> Path:
    """The GGUF file of workbench-tiny (built if missing)."""
    return ensure_tiny().gguf


def ensure_tiny(force: bool = False) -> TinyPaths:
    """Build what is missing (everything when ``force``) and return the paths."""
    root = tiny_root()
    paths = TinyPaths(root / "hf", root / GGUF_NAME)
    if force or not (_hf_complete(paths.hf_dir) and paths.gguf.is_file()):
        _build(root, force=force, gguf=True)
    return paths


def _hf_complete(hf_dir: Path) -> bool:
    # The folder only appears by rename once everything is written, so this is enough.
    return (hf_dir / "model.safetensors").is_file() and (hf_dir / "tokenizer.json").is_file()


def _require(modules: tuple[str, ...], extra: str) -> None:
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingDependencyError(name, extra) from exc


def _build(root: Path, force: bool, gguf: bool) -> None:
    # Building needs the training stack even when only the GGUF is wanted.
    _require(("torch", "transformers", "tokenizers", "safetensors", "jinja2"), "hf")
    if gguf:
        _require(("gguf",), "llamacpp")
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / ".lock").touch()
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot write the {TINY_ID} cache at {root} ({exc.strerror or exc}): set the "
            "environment variable WORKBENCH_CACHE_DIR to a writable folder.") from exc
    with _locked(root / ".lock"):
        hf_dir, gguf_path = root / "hf", root / GGUF_NAME
        # Builds only run under this lock, so any temporary left here is from a killed build.
        for stale in [*root.glob(".build-*"), *root.glob(f".{GGUF_NAME}.*.tmp")]:
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
        if force:
            shutil.rmtree(hf_dir, ignore_errors=True)
            gguf_path.unlink(missing_ok=True)
        if not _hf_complete(hf_dir):
            shutil.rmtree(hf_dir, ignore_errors=True)   # a leftover from a crashed older layout
            with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as tmp:
                LAST_BUILD.update(tiny_train.build_hf(Path(tmp) / "hf"))
                os.replace(Path(tmp) / "hf", hf_dir)
        if gguf and not gguf_path.is_file():
            start = time.perf_counter()
            tmp_file = root / f".{GGUF_NAME}.{os.getpid()}.tmp"
            try:
                gguf_export.export_gguf(hf_dir, tmp_file)
                os.replace(tmp_file, gguf_path)
            finally:
                tmp_file.unlink(missing_ok=True)
            LAST_BUILD["gguf_s"] = time.perf_counter() - start


@contextlib.contextmanager
def _locked(path: Path):
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


def main() -> None:
    start = time.perf_counter()
    paths = ensure_tiny(force="--force" in sys.argv)
    total = time.perf_counter() - start
    print(f"hf_dir: {paths.hf_dir}")
    print(f"gguf:   {paths.gguf}")
    for key, value in LAST_BUILD.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    print(f"total_s: {total:.2f}" + ("" if LAST_BUILD else " (already built)"))


if __name__ == "__main__":
    main()
