"""The widgets' ES modules: each is widget_common.js (shared helpers) followed by its own file."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).parent


def module(name: str) -> str:
    return (_HERE / "widget_common.js").read_text(encoding="utf-8") + "\n" + (_HERE / name).read_text(encoding="utf-8")
