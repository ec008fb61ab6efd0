"""The memory gauge on the real weight cache (entries loaded with a stand-in loader)."""

from __future__ import annotations

import pytest

from workbench.models.local import weights
from workbench.models.local.weights import Loaded
from workbench.notebook.gauge import MemoryGauge, device_rows, human_bytes


@pytest.fixture
def entries():
    weights.clear_cache()  # start from a known cache whatever ran before (tests share the kernel-wide cache)
    weights.get_or_load("hf", "nbtest/alpha", {}, lambda: Loaded(value=object(), bytes_by_device={"cpu": 4096},
                                                                 label="nbtest/alpha"))
    weights.get_or_load("llamacpp", "/models/nbtest-beta.gguf", {"n_ctx": 512},
                        lambda: Loaded(value=object(), bytes_by_device={"cpu": 2048}, label="nbtest-beta"))
    yield
    weights.clear_cache()


def test_entries_devices_and_the_background_thread_ends_on_close(entries):
    gauge = MemoryGauge(refresh_s=0.02)
    try:
        keys = {e["key"]: e for e in gauge.entries}
        assert {e["model"] for e in keys.values()} == {"nbtest/alpha", "nbtest-beta"}
        assert any(e["bytes_by_device"] == {"cpu": 4096} for e in keys.values())
        names = [d["name"] for d in gauge.devices]
        assert "process RSS" in names and "system RAM" in names
        assert gauge.thread.is_alive()
        assert "nbtest/alpha" in gauge.text() and "4.0 KiB" in gauge.text()
        data = gauge._repr_mimebundle_()
        data = data[0] if isinstance(data, tuple) else data
        assert "application/vnd.jupyter.widget-view+json" in data and "nbtest/alpha" in data["text/html"]
    finally:
        gauge.close()
    assert not gauge.thread.is_alive()


def test_clear_buttons_free_one_entry_then_all(entries):
    gauge = MemoryGauge(autostart=False)
    try:
        alpha = next(e for e in gauge.entries if e["model"] == "nbtest/alpha")
        gauge._on_frontend_message(gauge, {"type": "clear", "key": alpha["key"]}, [])
        assert [e["model"] for e in gauge.entries] == ["nbtest-beta"]
        assert gauge.message == "Freed 4.0 KiB."
        gauge._on_frontend_message(gauge, {"type": "clear_all"}, [])
        assert gauge.entries == [] and weights.cache_info() == []
    finally:
        gauge.close()


def test_the_gauge_refreshes_on_cache_events_without_its_thread(entries):
    gauge = MemoryGauge(autostart=False)
    try:
        weights.get_or_load("hf", "nbtest/gamma", {}, lambda: Loaded(value=object(), bytes_by_device={"cpu": 1},
                                                                     label="nbtest/gamma"))
        assert "nbtest/gamma" in [e["model"] for e in gauge.entries]     # the subscribe() callback ran
        weights.clear_hf_cache("nbtest/gamma")
        assert "nbtest/gamma" not in [e["model"] for e in gauge.entries]
    finally:
        gauge.close()
    weights.get_or_load("hf", "nbtest/delta", {}, lambda: Loaded(value=object(), bytes_by_device={"cpu": 1},
                                                                 label="nbtest/delta"))
    assert "nbtest/delta" not in [e["model"] for e in gauge.entries]     # unsubscribed on close


def test_device_rows_never_import_torch():
    import sys

    had_torch = "torch" in sys.modules
    device_rows()
    assert ("torch" in sys.modules) == had_torch
    assert human_bytes(1536) == "1.5 KiB" and human_bytes(12) == "12 B"


def test_show_cache_in_a_terminal_prints_and_stops(entries, capsys):
    import threading

    import workbench as wb

    before = {t.name for t in threading.enumerate()}
    assert wb.show_cache() is None
    assert "nbtest/alpha" in capsys.readouterr().out
    alive = [t for t in threading.enumerate() if t.name == "workbench-memory-gauge" and t.name not in before]
    assert all(not t.is_alive() for t in alive)


def test_the_status_bar_message_names_models_without_their_load_kwargs():
    from workbench.notebook.frontend_comm import gauge_message

    weights.get_or_load("hf", "nbtest/secretive", {"token": "hf_SECRET123"},
                        lambda: Loaded(value=object(), bytes_by_device={"cpu": 2048}))
    try:
        message = gauge_message()
        assert "hf:nbtest/secretive" in message["title"] and message["bytes"] >= 2048
        assert "hf_SECRET123" not in repr(message)
    finally:
        weights.clear_hf_cache("nbtest/secretive")


def test_a_magic_resume_cell_never_carries_credentials_of_its_model_string(tmp_path):
    from workbench.notebook.checkpoint_cells import resume_code_for_magic

    path = tmp_path / "c.json"
    safe = resume_code_for_magic("openai-compat:m@http://127.0.0.1:8000/v1", path)
    assert safe.startswith("%%aimu openai-compat:m@http://127.0.0.1:8000/v1 --restore ")
    for secret in ("openai-compat:m@https://user:sk-SECRET@host/v1", "openai-compat:m@https://host/v1?key=sk-SECRET"):
        code = resume_code_for_magic(secret, path)
        assert "SECRET" not in code and code.startswith("%%aimu --restore ")
