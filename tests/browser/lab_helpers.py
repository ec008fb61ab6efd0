"""Helpers for the browser tests: real JupyterLab on 127.0.0.1, notebooks written to its root."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        home = root.parent / "lab-home"
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTER_CONFIG_DIR=str(home / "config"),
                   PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        # no "Would you like to get notified about Jupyter news?" toast over the screenshots
        settings = home / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        self.log = open(root.parent / "jupyterlab.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}",
             "--ServerApp.open_browser=False", "--LabApp.expose_app_in_browser=True",
             f"--LabApp.workspaces_dir={home / 'workspaces'}", f"--LabApp.user_settings_dir={home / 'settings'}",
             "--ServerApp.port_retries=0", "--allow-root"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=root)
        self.wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("JupyterLab did not answer /api/status in time")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def write_notebook(path: Path, cells: list[str]) -> None:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                          "language": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": src} for i, src in enumerate(cells)]}
    path.write_text(json.dumps(nb), encoding="utf-8")


def open_and_run(page, lab, name: str) -> None:
    # ?reset: a fresh workspace, so only this notebook is open (the DOM holds no other outputs)
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset")
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
    # a kernel that is ready, then Run All (the app is exposed by --LabApp.expose_app_in_browser)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    try:  # JupyterLab may ask which kernel to use although the notebook names python3
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=5_000)
    except Exception:
        pass
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_done(page, count: int, timeout_ms: int = 240_000, status: str = "done") -> None:
    """Wait until ``count`` runs have ended: their live views became static output."""
    page.wait_for_function(
        f"document.querySelectorAll('.wb-stream-static[data-status=\"{status}\"]').length >= {count}",
        timeout=timeout_ms)


def shutdown_kernels(lab) -> None:
    with urllib.request.urlopen(f"{lab.url}/api/kernels?token={lab.token}") as r:
        kernels = json.loads(r.read())
    for kernel in kernels:
        request = urllib.request.Request(f"{lab.url}/api/kernels/{kernel['id']}?token={lab.token}", method="DELETE")
        urllib.request.urlopen(request).close()


@contextlib.contextmanager
def saved_and_reopened(page, lab, browser, name: str):
    """Save the open notebook, shut its kernel down, and yield ``name`` opened in a fresh page
    (what a colleague sees tomorrow)."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1500)
    shutdown_kernels(lab)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    fresh = context.new_page()
    try:
        fresh.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}")
        fresh.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
        yield fresh
    finally:
        context.close()
