"""Building workbench-tiny: where, how fast, how deterministic, and safe when two processes race."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from workbench.builtin import tiny


def test_import_is_light(heavy_modules_after):
    assert heavy_modules_after("import workbench.builtin.tiny, workbench.builtin.tiny_corpus, workbench.builtin.gguf_export",
                               ("torch", "transformers", "tokenizers", "gguf", "jinja2", "numpy")) == []


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKBENCH_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tiny.cache_dir() == tmp_path / "xdg" / "workbench"
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "mine"))
    assert tiny.cache_dir() == tmp_path / "mine"
    root = tiny.tiny_root()
    assert root.parent == tmp_path / "mine" / "tiny"
    assert root.name == f"workbench-tiny-{tiny.version()}"
    monkeypatch.delenv("WORKBENCH_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert tiny.cache_dir() == Path.home() / ".cache" / "workbench"


def test_paths_and_model_shape(tiny):
    from workbench.builtin.tiny import ensure_tiny, tiny_gguf_path, tiny_hf_dir

    assert tiny == ensure_tiny() and tiny.hf_dir.is_dir() and tiny.gguf.is_file()
    assert tiny_hf_dir() == tiny.hf_dir and tiny_gguf_path() == tiny.gguf
    config = json.loads((tiny.hf_dir / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["max_position_embeddings"] == 512
    generation = json.loads((tiny.hf_dir / "generation_config.json").read_text())
    assert generation["eos_token_id"] == config["eos_token_id"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_racing_processes_build_once_and_bit_identically(tiny, tmp_path):
    """Two processes start on an empty cache at once: one builds, the other waits and reuses.

    The result is byte-identical to the shared build (made by another process earlier), so
    builds are deterministic: same tokenizer.json, same weights, same GGUF.
    """
    script = textwrap.dedent("""
        import json, sys
        from workbench.builtin import tiny
        paths = tiny.ensure_tiny()
        print(json.dumps({"hf": str(paths.hf_dir), "gguf": str(paths.gguf), "build": tiny.LAST_BUILD}))
    """)
    env = dict(os.environ, WORKBENCH_CACHE_DIR=str(tmp_path / "cache"))
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0]["hf"] == results[1]["hf"] and results[0]["gguf"] == results[1]["gguf"]
    builds = [r["build"] for r in results if r["build"]]
    assert len(builds) == 1, "exactly one process should have built"
    timings = builds[0]
    print(f"\nworkbench-tiny build: {timings}")
    assert timings["params"] > 100_000 and timings["epochs"] > 0

    fresh = Path(results[0]["hf"])
    assert not list(fresh.parent.glob(".build-*"))          # no temporary folder left behind
    for name in ("tokenizer.json", "model.safetensors", "config.json", "tokenizer_config.json"):
        assert _digest(fresh / name) == _digest(tiny.hf_dir / name), name
    assert _digest(Path(results[0]["gguf"])) == _digest(tiny.gguf)



def test_unwritable_cache_names_the_fix(tmp_path, monkeypatch):
    import pytest

    from workbench.errors import ConfigurationError

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(blocker))
    with pytest.raises(ConfigurationError, match="WORKBENCH_CACHE_DIR") as info:
        tiny.ensure_tiny()
    assert str(blocker) in str(info.value)
