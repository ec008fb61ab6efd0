"""The JupyterLab extension ships inside the Python package: an sdist built from the checkout
carries the built extension, a wheel built from that sdist needs no Node, and installing the
wheel is all a user does for `jupyter labextension list` to show it enabled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NAME = "aimu-workbench"
SHARE = f"share/jupyter/labextensions/{NAME}"
BUILD_TOOLS = ["hatchling==1.33.0", "hatch-jupyter-builder==0.10.0", "jupyter-builder==1.3.0"]

pytestmark = pytest.mark.slow


def run(cmd, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def no_node_env(**extra) -> dict[str, str]:
    """PATH holds only the virtual environment's scripts: no node, no npm."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH")}
    env.update(PATH=str(Path(sys.executable).parent), **extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    if not (REPO / "workbench" / "labextension" / "package.json").exists():
        pytest.fail("the extension is not built: run scripts/setup.sh (it builds extensions/aimu-workbench)")
    tmp = tmp_path_factory.mktemp("wheel")
    tools = tmp / "tools"
    run([sys.executable, "-m", "pip", "install", "-q", "--target", str(tools), *BUILD_TOOLS])
    run([sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(tmp / "dist")], cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(tools)))
    sdist = next((tmp / "dist").glob("*.tar.gz"))
    # The wheel from the sdist, with no Node on PATH: the sdist must carry the built extension.
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(sdist)],
        env=no_node_env(PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))))
    return sdist, next((tmp / "dist").glob("*.whl")), tmp


def test_the_sdist_carries_the_built_extension_and_its_source_but_no_node_modules(wheel):
    sdist, _, _ = wheel
    with tarfile.open(sdist) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    assert "workbench/labextension/package.json" in names
    assert "workbench/labextension/static/style.js" in names
    assert "extensions/aimu-workbench/src/index.ts" in names
    assert "extensions/aimu-workbench/package-lock.json" in names
    assert not [n for n in names if "node_modules" in n]


def test_the_wheel_holds_the_extension_as_shared_data(wheel):
    _, whl, _ = wheel
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        data = [n for n in names if f".data/data/{SHARE}/" in n]
        package = json.loads(z.read(next(n for n in data if n.endswith(f"{SHARE}/package.json"))))
        install = json.loads(z.read(next(n for n in data if n.endswith(f"{SHARE}/install.json"))))
    assert package["name"] == NAME and package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry")
    assert install["packageName"] == NAME and install["packageManager"] == "python"
    assert any(n.endswith("static/style.js") for n in data)
    assert "workbench/notebook/gauge.js" in names and "workbench/notebook/frontend_comm.py" in names
    assert not [n for n in names if n.startswith("extensions/") or "node_modules" in n]
    assert not [n for n in names if n.startswith("workbench/labextension/")]     # once, as shared data


def test_installing_the_wheel_without_node_lists_the_extension_enabled(wheel):
    from importlib.metadata import distribution

    _, whl, tmp = wheel
    prefix = tmp / "prefix"
    before = distribution("aimu-workbench").read_text("direct_url.json")
    # --ignore-installed: pip would otherwise uninstall this checkout's own editable install
    # from the running environment before writing into the prefix
    run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", "--prefix", str(prefix),
         str(whl)], env=no_node_env())
    assert (prefix / SHARE / "package.json").exists() and (prefix / SHARE / "install.json").exists()
    listed = run([sys.executable, "-m", "jupyter", "labextension", "list"],
                 env=no_node_env(JUPYTER_PATH=str(prefix / "share" / "jupyter"), HOME=str(tmp / "home")))
    out = listed.stdout + listed.stderr
    line = next(ln for ln in out.splitlines() if f"{NAME} v" in ln and str(prefix) not in ln)
    assert "enabled" in line and "OK" in line
    assert str(prefix / "share" / "jupyter" / "labextensions") in out
    assert distribution("aimu-workbench").read_text("direct_url.json") == before   # ours left alone
