"""The built-in image model ``workbench-tiny-sd``: built and trained offline on first use.

    folder = tiny_sd_dir()         # a diffusers StableDiffusionPipeline folder, built if missing

It goes into ``<cache>/tiny/workbench-tiny-sd-<version>/pipeline`` (the cache: see
``build``); the version is a hash of the modules that decide its bytes, so editing them
builds a fresh folder. It makes 64x64 pictures of one coloured square or circle on white
(``tiny_sd_data``) and follows the prompt's colour and shape; see ``tiny_sd_train``.

Run ``python -m workbench.builtin.tiny_sd`` to build and print the folder and timings.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from workbench.builtin import tiny_sd_train
from workbench.builtin.build import (build_folder, cache_dir, drop_stale, locked, prepare, report, require,
                                     source_hash)
from workbench.builtin.tiny_sd_data import TINY_SD_ID

__all__ = ["TINY_SD_ID", "tiny_sd_dir", "tiny_sd_root"]

_SOURCES = ("build.py", "tiny_sd.py", "tiny_sd_data.py", "tiny_sd_train.py")
LAST_BUILD: dict[str, object] = {}
_VERSION = source_hash(_SOURCES)      # at import, with the code it describes


def tiny_sd_root() -> Path:
    return cache_dir() / "tiny" / f"{TINY_SD_ID}-{_VERSION}"


def _complete(folder: Path) -> bool:
    return (folder / "model_index.json").is_file() and (folder / "workbench_preview.json").is_file()


def tiny_sd_dir(force: bool = False) -> Path:
    """The pipeline folder of workbench-tiny-sd (built if missing, or again when ``force``)."""
    root = tiny_sd_root()
    folder = root / "pipeline"
    if force or not _complete(folder):
        require(("torch", "diffusers", "transformers", "safetensors"), "images")
        with locked(prepare(root, TINY_SD_ID)):
            drop_stale(root)
            if force or not _complete(folder):
                LAST_BUILD.clear()
                LAST_BUILD.update(build_folder(folder, tiny_sd_train.build_pipeline))
    return folder


def main() -> None:
    start = time.perf_counter()
    folder = tiny_sd_dir(force="--force" in sys.argv)
    report({"pipeline": folder}, LAST_BUILD, time.perf_counter() - start)


if __name__ == "__main__":
    main()
