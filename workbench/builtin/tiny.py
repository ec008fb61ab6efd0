"""The built-in model ``workbench-tiny``: built offline on first use, in seconds, deterministically.

    paths = ensure_tiny()          # TinyPaths(hf_dir=..., gguf=...), built if missing
    tiny_hf_dir(), tiny_gguf_path()

What gets built, into ``<cache>/tiny/<TINY_ID>-<version>/`` (the cache: see ``build``):

- ``hf/``: a byte-level BPE tokenizer trained in-process on the corpus of ``tiny_corpus``
  (ChatML control tokens are special; ``<think>``/``<tool_call>`` are ordinary added tokens
  so decoding keeps them) and a small Llama causal LM trained on the same corpus until
  greedy decoding reproduces every script exactly and stops at ``<|im_end|>``.
- ``workbench-tiny.gguf``: the same weights for llama.cpp (see ``gguf_export``).

The version is a hash of this module, the corpus and the exporter, so changing any of them
builds a fresh folder. Builds go to a temporary folder and are renamed into place, under a
lock file, so two processes starting at once build once and never see half a model.

Run ``python -m workbench.builtin.tiny`` to build and print the paths and timings.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.builtin import gguf_export, tiny_train
from workbench.builtin.build import (build_folder, cache_dir, drop_stale, locked, prepare, report, require,
                                     source_hash)
from workbench.builtin.tiny_corpus import TINY_ID

__all__ = ["TINY_ID", "TinyPaths", "cache_dir", "ensure_tiny", "tiny_hf_dir", "tiny_gguf_path", "tiny_root"]

GGUF_NAME = f"{TINY_ID}.gguf"
_SOURCES = ("build.py", "tiny.py", "tiny_corpus.py", "tiny_train.py", "gguf_export.py")

# Timings of the last build in this process (seconds by step), for the CLI and benchmarks.
LAST_BUILD: dict[str, float] = {}


@dataclass(frozen=True)
class TinyPaths:
    hf_dir: Path
    gguf: Path


def version() -> str:
    """A short hash of everything that decides the model's bytes."""
    global _VERSION
    if _VERSION is None:
        _VERSION = source_hash(_SOURCES)
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


def _build(root: Path, force: bool, gguf: bool) -> None:
    # Building needs the training stack even when only the GGUF is wanted.
    require(("torch", "transformers", "tokenizers", "safetensors", "jinja2"), "hf")
    if gguf:
        require(("gguf",), "llamacpp")
    with locked(prepare(root, TINY_ID)):
        hf_dir, gguf_path = root / "hf", root / GGUF_NAME
        drop_stale(root, (".build-*", f".{GGUF_NAME}.*.tmp"))
        if force:
            import shutil

            shutil.rmtree(hf_dir, ignore_errors=True)
            gguf_path.unlink(missing_ok=True)
        if not _hf_complete(hf_dir):
            LAST_BUILD.update(build_folder(hf_dir, tiny_train.build_hf))
        if gguf and not gguf_path.is_file():
            start = time.perf_counter()
            tmp_file = root / f".{GGUF_NAME}.{os.getpid()}.tmp"
            try:
                gguf_export.export_gguf(hf_dir, tmp_file)
                os.replace(tmp_file, gguf_path)
            finally:
                tmp_file.unlink(missing_ok=True)
            LAST_BUILD["gguf_s"] = time.perf_counter() - start


def main() -> None:
    start = time.perf_counter()
    paths = ensure_tiny(force="--force" in sys.argv)
    report({"hf_dir": paths.hf_dir, "gguf": paths.gguf}, LAST_BUILD, time.perf_counter() - start)


if __name__ == "__main__":
    main()
