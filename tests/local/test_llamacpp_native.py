"""llama-cpp-python's low-level API lives behind one module, with a version check and its errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench.errors import ConfigurationError
from workbench.models.local import llamacpp_native as native

ROOT = Path(__file__).resolve().parents[2] / "workbench"


@pytest.mark.parametrize("version", ["0.3.36", "0.3.99", "0.3.40.dev1"])
def test_the_tested_versions_pass(version):
    native.check_version(version)


@pytest.mark.parametrize("version", ["0.2.90", "0.3.35", "0.4.0", "1.0.0"])
def test_other_versions_are_refused_naming_the_pin(version):
    with pytest.raises(ConfigurationError, match=r"pip install 'llama-cpp-python>=0\.3\.36,<0\.4'") as caught:
        native.check_version(version)
    assert version in str(caught.value) and "_internals" in str(caught.value)


def test_the_installed_version_is_the_tested_one():
    import llama_cpp

    assert native.lib() is llama_cpp


def test_no_other_module_touches_llama_cpp():
    users = []
    for path in ROOT.rglob("*.py"):
        if path.name == "llamacpp_native.py":
            continue
        code = path.read_text(encoding="utf-8")
        if re.search(r"^\s*(from llama_cpp\b|import llama_cpp\b)|\bllama_cpp\.\w+\(", code, re.M):
            users.append(str(path.relative_to(ROOT)))
    assert users == []


def test_a_file_llama_cpp_cannot_load_says_why(tmp_path):
    import workbench as wb

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ConfigurationError, match="could not load") as caught:
        wb.client(f"llamacpp:{broken}")
    assert isinstance(caught.value.__cause__, native.NativeError) and caught.value.__cause__.stage == "load"
