"""Fixtures shared by every test folder."""

import importlib.util

import pytest

# tests/deepeval_adapters runs in its own environment (scripts/test.sh, .venv-deepeval): deepeval's
# pins conflict with the main one's, so where it is not installed the folder is not collected.
collect_ignore = [] if importlib.util.find_spec("deepeval") else ["deepeval_adapters"]


@pytest.fixture
def heavy_modules_after():
    """``heavy_modules_after(imports, heavy)``: which of the modules ``heavy`` a fresh
    interpreter holds after running the import statements ``imports``."""
    import json
    import subprocess
    import sys

    def check(imports: str, heavy: tuple[str, ...]) -> list[str]:
        code = (f"import json, sys\n{imports}\n"
                f"print(json.dumps(sorted(set({list(heavy)!r}) & set(sys.modules))))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip())

    return check


@pytest.fixture(scope="session")
def tiny_model():
    """The built-in model, built offline on first use (seconds; cached in the user cache folder)."""
    from workbench.builtin.tiny import ensure_tiny

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


@pytest.fixture
def hold_write_lock():
    """``with hold_write_lock(path):`` another process holds an exclusive write lock on the
    SQLite file ``path`` (created if missing) until the block ends."""
    import contextlib
    import subprocess
    import sys

    @contextlib.contextmanager
    def hold(path):
        holder = subprocess.Popen([sys.executable, "-c", (
            "import sqlite3, time\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE'); c.execute('CREATE TABLE lock_holder (a)')\n"
            "print('locked', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            yield
        finally:
            holder.kill()
            holder.wait()

    return hold
