"""Real JupyterLab on 127.0.0.1 and Debian's Chromium through Playwright (never `playwright install`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab_helpers import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Lab


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# Module scope, not session: Playwright's sync API keeps an event loop running in the main
# thread while it is open, and every later test that calls asyncio.run() would fail.
@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's Chromium (/usr/bin/chromium) is not installed: run scripts/setup.sh as root, "
                    "or apt-get install -y chromium")
    root = tmp_path_factory.mktemp("lab") / "root"
    root.mkdir()
    server = Lab(root)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()
