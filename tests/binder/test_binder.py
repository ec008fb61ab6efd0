"""binder/ for repo2docker, tested without Docker.

repo2docker prints the Dockerfile it would build (the conda build pack, Python 3.11,
postBuild, start); binder/postBuild's install steps run in a fresh virtual environment with
a temporary HOME (pip in place of conda: torch's CPU wheel and llama-cpp-python installed
first, as environment.yml and the image provide them), from a copy of the repository as a
fresh clone has it (the extension unbuilt, so the package's build hook builds it), and the
tour notebooks then run there offline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"


def run(cmd, timeout=1200, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def locked(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)$", (REPO / "requirements.lock").read_text(), re.M)
    assert match, f"{name} is not in requirements.lock"
    return match[1]


def test_repo2docker_would_build_the_conda_pack_with_python_311_postbuild_and_start():
    r2d = Path(sys.executable).parent / "jupyter-repo2docker"
    done = run([str(r2d), "--no-build", "--no-run", "--debug", str(REPO)], timeout=120)
    out = done.stdout + done.stderr
    assert "Building conda environment for python=3.11" in out
    assert 'binder/environment.yml' in out and "env update" in out
    assert "RUN ./binder/postBuild" in out
    assert 'ENV R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in out
    env = (BINDER / "environment.yml").read_text()
    assert "conda-forge" in env and "python=3.11" in env and "llama-cpp-python" in env and "nodejs" in env
    assert "cuda" not in env.lower()
    post = (BINDER / "postBuild").read_text()
    assert "set -euo pipefail" in post and "whl/cpu" in post
    assert os.access(BINDER / "postBuild", os.X_OK) and os.access(BINDER / "start", os.X_OK)


def test_start_sets_the_tour_model_and_runs_the_command():
    done = run(["bash", str(BINDER / "start"), sys.executable, "-c",
                "import os; print(os.environ['WORKBENCH_MODEL'])"], timeout=60,
               env={k: v for k, v in os.environ.items() if k != "WORKBENCH_MODEL"})
    assert done.stdout.strip() == "hf:workbench-tiny"


def fresh_clone(target: Path) -> Path:
    """The repository's files as a clone has them (tracked and new files; nothing ignored)."""
    files = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, timeout=60)
    for name in filter(None, files.stdout.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_postbuild_installs_into_a_fresh_environment_and_the_tour_runs_there(tmp_path):
    repo = fresh_clone(tmp_path / "repo")
    assert not (repo / "workbench" / "labextension").exists()
    home = tmp_path / "home"
    home.mkdir()
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
                        "WORKBENCH_CACHE_DIR", "XDG_CACHE_HOME", "WORKBENCH_MODEL")}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
               PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
               npm_config_cache=os.environ.get("npm_config_cache", str(Path.home() / ".npm")),
               WORKBENCH_KEEP_PIP_CACHE="1", PYTHON=str(py))
    # What environment.yml gives the image, by pip here: torch's CPU build and llama-cpp-python.
    run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip>=25"], env=env)
    run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0", f"llama-cpp-python=={locked('llama-cpp-python')}"],
        env=dict(env, CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF"))

    built = run(["bash", "binder/postBuild"], cwd=repo, env=env, timeout=1500)
    assert "total_s" in built.stdout                                        # workbench-tiny was built
    assert (repo / "workbench" / "labextension" / "package.json").exists()  # the build hook built it
    where = run([str(py), "-c", "import workbench, torch; print(workbench.__file__); print(torch.__version__)"],
                cwd=tmp_path, env=env, timeout=120).stdout.split()
    assert where[0].startswith(str(venv)) and where[1].endswith("+cpu")
    listed = run([str(py), "-m", "jupyter", "labextension", "list"], env=env, timeout=120)
    assert re.search(r"aimu-workbench v\S+ \S*enabled\S* \S*OK", listed.stdout + listed.stderr)

    # The tour, through binder/start, in the new environment (cwd outside the clone).
    out = tmp_path / "tour"
    tour = run(["bash", str(repo / "binder" / "start"), str(py), "-c",
                "import sys; from workbench.notebook.tour import run_tour; "
                "run_tour(sys.argv[1], source_dir=sys.argv[2])", str(out), str(repo / "notebooks")],
               cwd=tmp_path, env=env, timeout=1500)
    ran = [line.split(":")[0] for line in tour.stdout.splitlines() if re.match(r"^\d\d_\w+: ok ", line)]
    from workbench.notebook.tour import TOUR

    assert len(ran) == len(TOUR) and "notebook(s) failed" not in tour.stderr, tour.stdout
    assert len(list(out.glob("*.html"))) == len(TOUR)
