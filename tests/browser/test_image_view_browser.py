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


AGENT = f"""import sys
sys.path.insert(0, {str(REPO)!r})
import workbench as wb
from workbench.testing import FakeOpenAIServer, Reply, ToolCall
server = FakeOpenAIServer().start()
server.add(Reply(tool_calls=[ToolCall("generate_image", {{"prompt": "a purple circle"}})]),
           Reply(text="Here is a **purple circle**."))
ic = wb.image_client("hf:workbench-tiny-sd")
painter = wb.agent(f"openai-compat:fake@{{server.base_url}}", api_key="k", name="painter",
                   tools=[wb.tools.image_tool(ic, steps=600, preview_every=60, seed=0)])"""


@pytest.mark.slow
def test_an_agents_diffusers_previews_stream_live_and_the_answer_follows(lab, page, browser):
    write_notebook(lab.root / "painter.ipynb", [AGENT, "wb.show(painter.run('Draw a purple circle', stream=True))"])
    open_and_run(page, lab, "painter.ipynb")
    page.locator(".wb-stream .wb-image figcaption", has_text="/600").wait_for(timeout=240_000)
    page.wait_for_function("() => { const i = document.querySelector('.wb-stream .wb-image img');"   # a preview
                           " return i && (i.getAttribute('src') || '').startsWith('data:image/jpeg'); }",
                           timeout=120_000)
    assert "final" not in page.locator(".wb-stream .wb-image figcaption").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "image_agent_live.png"), full_page=True)
    wait_done(page, 1)
    static = page.locator(".wb-stream-static").first
    assert static.locator(".wb-image img").count() == 1
    assert "purple circle" in static.inner_text() and "generate_image" in static.inner_text()
    page.screenshot(path=str(ARTIFACTS / "image_agent_final.png"), full_page=True)
    wait_idle(page)
    with saved_and_reopened(page, lab, browser, "painter.ipynb") as fresh:
        fresh.locator(".wb-stream-static .wb-image img").first.wait_for(timeout=60_000)
        fresh.screenshot(path=str(ARTIFACTS / "image_agent_reopened.png"), full_page=True)
