"""Image streams in real JupyterLab: live previews with a step counter, the final image kept
in the saved notebook (previews dropped), shown again in a fresh page without the kernel."""

from __future__ import annotations

import pytest

from lab_helpers import ARTIFACTS, REPO, open_and_run, saved_and_reopened, wait_done, write_notebook
from test_notebook_experience import wait_idle

pytestmark = pytest.mark.browser

SETUP = f"""import sys
sys.path.insert(0, {str(REPO)!r})
import workbench as wb
from workbench.testing import FakeOpenAIServer, Reply
server = FakeOpenAIServer().start()
server.queue_for("images", Reply(chunk_delay=2.0))     # a slow model: each preview stays a while
ic = wb.image_client("openai:gpt-image-1", api_key="k", base_url=server.base_url)"""


def test_live_previews_then_the_final_image_survives_a_reopen(lab, page, browser):
    write_notebook(lab.root / "images.ipynb", [
        SETUP,
        "result = wb.show(ic.generate('a red lighthouse', stream=True, partial_images=2))\nresult",
    ])
    open_and_run(page, lab, "images.ipynb")
    caption = page.locator(".wb-stream .wb-image figcaption", has_text="step 1/3")
    caption.wait_for(timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "image_preview_live.png"), full_page=True)
    assert page.locator(".wb-stream .wb-image img").first.get_attribute("src").startswith("data:image/jpeg")
    wait_done(page, 1)
    static = page.locator(".wb-stream-static").first
    assert static.locator(".wb-image img").count() == 1                 # the final image only
    assert static.locator(".wb-image img").get_attribute("src").startswith("data:image/png")
    assert "1 image" in static.locator(".wb-footer").inner_text()
    assert "result.images holds the PNGs" in page.locator(".jp-OutputArea-output").last.inner_text()
    page.screenshot(path=str(ARTIFACTS / "image_final_static.png"), full_page=True)
    wait_idle(page)
    with saved_and_reopened(page, lab, browser, "images.ipynb") as fresh:
        view = fresh.locator(".wb-stream-static").first
        view.wait_for(timeout=60_000)
        view.locator(".wb-image img").wait_for(timeout=30_000)
        fresh.wait_for_function("() => { const i = document.querySelector('.wb-stream-static .wb-image img');"
                                " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
        fresh.screenshot(path=str(ARTIFACTS / "image_reopened.png"), full_page=True)
        assert "model not found" not in fresh.locator(".jp-Notebook .jp-Cell").nth(1).inner_text()
