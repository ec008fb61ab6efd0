"""Several processes opening one new run store at the same moment all get it (SQLite answers
"database is locked" to a simultaneous switch into WAL without waiting; the store retries)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPEN = """
import sys, time
sys.path.insert(0, sys.argv[2])
from workbench.evals.store import RunStore
start = float(sys.argv[3])
while time.time() < start:
    pass
RunStore(sys.argv[1]).close()
"""


@pytest.mark.slow
def test_six_processes_open_one_new_store_at_once(tmp_path):
    failures = []
    for trial in range(6):
        db = tmp_path / f"s{trial}.db"
        start = time.time() + 1.5                     # every process is up before the race
        procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(db), str(REPO), str(start)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for p in procs:
            _, err = p.communicate(timeout=120)
            if p.returncode != 0:
                failures.append(err.strip().splitlines()[-1])
    assert failures == []
