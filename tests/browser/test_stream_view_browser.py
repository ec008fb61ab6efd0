"""The widgets in real JupyterLab (Chromium through Playwright).

A %%aimu cell on a fake OpenAI server streaming 4,000 tokens as fast as it can, a %%aimu
cell on the built-in workbench-tiny, the memory gauge, Markdown, and what a finished run
leaves behind (static output that a reopened notebook still shows). Screenshots go to
artifacts/browser/; the notebook-experience tests are in test_notebook_experience.py.
"""

from __future__ import annotations

import re

import pytest

from lab_helpers import ARTIFACTS, REPO, open_and_run, wait_done, write_notebook

pytestmark = pytest.mark.browser

WORDS = 4000
TEXT = " ".join(f"w{i}" for i in range(WORDS))

SETUP = f"""import sys
sys.path.insert(0, {str(REPO)!r})
%load_ext workbench
from workbench.testing import FakeOpenAIServer, Reply
TEXT = ' '.join(f'w{{i}}' for i in range({WORDS}))
server = FakeOpenAIServer(default=Reply(text=TEXT, thinking='I will count **every** word.')).start()
M = 'openai-compat:fast-fake@' + server.base_url"""


def test_a_4000_token_stream_reaches_the_page_whole(lab, page):
    write_notebook(lab.root / "stream.ipynb", [SETUP, "%%aimu {M} --thinking\nCount to four thousand."])
    open_and_run(page, lab, "stream.ipynb")
    wait_done(page, 1)
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "stream_view.png"), full_page=True)

    view = page.locator(".wb-stream-static").first
    answer = view.locator(".wb-answer").inner_text()
    assert re.sub(r"\s+", " ", answer).strip() == TEXT          # 100% of the text reached the page
    thinking = view.locator(".wb-thinking")
    assert thinking.is_visible() and thinking.get_attribute("open") is None   # folded once the answer started
    thinking.locator("summary").click()
    assert "every" in thinking.inner_text()
    footer = view.locator(".wb-footer").inner_text()
    assert "fast-fake" in footer and "tokens" in footer and "tok/s" in footer
    content = page.content()
    assert "IOPub message rate exceeded" not in content and "IOPub data rate exceeded" not in content


@pytest.mark.usefixtures("tiny_model")
def test_workbench_tiny_in_jupyterlab(lab, page):
    write_notebook(lab.root / "tiny.ipynb", [SETUP, "%%aimu hf:workbench-tiny\nWhat is the weather in Paris?"])
    open_and_run(page, lab, "tiny.ipynb")
    wait_done(page, 1)
    page.screenshot(path=str(ARTIFACTS / "stream_view_tiny.png"), full_page=True)
    view = page.locator(".wb-stream-static").first
    assert view.locator(".wb-answer").inner_text().strip() or view.locator(".wb-tool").count()
    assert "workbench-tiny" in view.locator(".wb-footer").inner_text()
    thinking = view.locator(".wb-thinking")             # the tiny model thinks before it answers
    assert thinking.is_visible() and thinking.get_attribute("open") is None
    assert "IOPub message rate exceeded" not in page.content()


def test_gauge_clear_button_removes_the_entry(lab, page):
    write_notebook(lab.root / "gauge.ipynb", [
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\n%load_ext workbench\n"
        "from workbench.models.local import weights\nfrom workbench.models.local.weights import Loaded\n"
        "weights.get_or_load('hf', 'browser/demo-model', {}, "
        "lambda: Loaded(value=object(), bytes_by_device={'cpu': 3 * 2**20}, label='browser/demo-model'));",
        "%aimu cache",
    ])
    open_and_run(page, lab, "gauge.ipynb")
    entry = page.locator(".wb-gauge .wb-entry", has_text="browser/demo-model")
    entry.wait_for(timeout=120_000)
    assert "3.0 MiB" in entry.inner_text()
    assert page.locator(".wb-gauge .wb-device", has_text="process RSS").count() == 1
    page.screenshot(path=str(ARTIFACTS / "gauge_before_clear.png"), full_page=True)
    entry.locator("button.wb-clear").click()
    entry.wait_for(state="detached", timeout=30_000)
    page.wait_for_selector(".wb-gauge .wb-gauge-message", timeout=10_000)
    assert "Freed 3.0 MiB" in page.locator(".wb-gauge .wb-gauge-message").inner_text()
    page.screenshot(path=str(ARTIFACTS / "gauge_after_clear.png"), full_page=True)


MARKDOWN = ("## Plan\\n\\n1. **Bold** step\\n2. *soft* step with `code`\\n\\n"
            "<img src=x onerror=alert(1)> [link](https://example.org) [bad](javascript:alert(1))\\n\\n"
            "```python\\nprint('<b>hi</b>')\\n```")


def test_markdown_is_rendered_safely_and_tools_show_as_a_timeline(lab, page):
    write_notebook(lab.root / "markdown.ipynb", [
        SETUP + "\nfrom workbench.testing import ToolCall\nimport workbench as wb\n"
        "@wb.tool\ndef get_weather(city: str) -> str:\n    '''The weather in a city.'''\n    return 'sunny in ' + city\n"
        "server.add(Reply(tool_calls=[ToolCall('get_weather', {'city': 'Paris'})]), "
        f"Reply(text=\"{MARKDOWN}\"))",
        "%%aimu {M} --tools get_weather\nWeather in Paris, as a plan?",
    ])
    open_and_run(page, lab, "markdown.ipynb")
    wait_done(page, 1)
    page.screenshot(path=str(ARTIFACTS / "stream_view_markdown.png"), full_page=True)
    answer = page.locator(".wb-stream-static .wb-answer").first
    assert answer.locator("h4", has_text="Plan").count() == 1
    assert answer.locator("ol li").count() == 2 and answer.locator("strong", has_text="Bold").count() == 1
    assert answer.locator("pre code").inner_text() == "print('<b>hi</b>')"
    assert answer.locator("img").count() == 0 and "<img src=x" in answer.inner_text()
    assert answer.locator("a[href='https://example.org']").count() == 1
    assert answer.locator("a[href^='javascript']").count() == 0
    tool = page.locator(".wb-stream-static .wb-tool").first
    assert "get_weather" in tool.inner_text() and "done" in tool.locator(".wb-tool-status").inner_text().lower()
    tool.locator("summary").click()
    assert "sunny in Paris" in tool.inner_text()
