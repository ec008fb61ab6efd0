"""Fixtures for in-process model tests: the built-in workbench-tiny (built offline on first use)."""

from __future__ import annotations

import warnings

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny():
    from workbench.builtin.tiny import ensure_tiny

    return ensure_tiny()


@pytest.fixture(scope="session")
def expected():
    from workbench.builtin.tiny_corpus import EXPECTED

    return EXPECTED


@pytest.fixture()
def fresh_cache():
    """Start and end with no cached in-process weights (for tests that count entries or bytes)."""
    from workbench.models.local.weights import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture()
def weather_tool():
    import workbench as wb

    calls = []

    @wb.tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return "sunny, 21 C"

    get_weather.calls = calls
    return get_weather


@pytest.fixture(autouse=True)
def _quiet_unknown_model_warnings():
    # Only the one warning these tests cause on purpose (local paths and tiny ids no catalog
    # lists); every other UserWarning still shows, and a test that expects one can catch it.
    from workbench.models.strings import UnknownModelWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UnknownModelWarning)
        yield


@pytest.fixture(autouse=True, scope="module")
def _leave_the_cache_empty():
    """The weight cache is process-wide: tests elsewhere should not see our models in it."""
    yield
    from workbench.models.local.weights import clear_cache

    clear_cache()
