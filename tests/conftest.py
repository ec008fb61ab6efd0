"""Fixtures shared by every test folder."""

import importlib.util

import pytest

# tests/deepeval_adapters runs in its own environment (scripts/test.sh, .venv-deepeval): deepeval's
# pins conflict with the main one's, so where it is not installed the folder is not collected.
collect_ignore = [] if importlib.util.find_spec("deepeval") else ["deepeval_adapters"]


@pytest.fixture(scope="session")
def tiny_model():
    """The built-in model, built offline on first use (seconds; cached in the user cache folder)."""
    from workbench.models.local.tiny import ensure_tiny

    return ensure_tiny()


@pytest.fixture(autouse=True, scope="session")
def _run_store_outside_the_checkout(tmp_path_factory):
    """Benchmarks without store= write the default store; in tests that is a temporary file,
    never .workbench/runs.db in the checkout."""
    import os

    path = tmp_path_factory.mktemp("runs") / "runs.db"
    previous = os.environ.get("WORKBENCH_RUN_STORE")
    os.environ["WORKBENCH_RUN_STORE"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("WORKBENCH_RUN_STORE", None)
    else:
        os.environ["WORKBENCH_RUN_STORE"] = previous
