"""image_tool: an agent makes an image; the model gets a short reference, the stream the previews."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

import workbench as wb
from workbench.agents import Agent
from workbench.builtin import tiny_sd_data as data
from workbench.errors import ConfigurationError
from workbench.models.chunks import Phase
from workbench.testing import FakeOpenAIServer, Reply, ToolCall

pytestmark = pytest.mark.slow


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture(scope="module")
def ic():
    return wb.image_client("hf:workbench-tiny-sd")


def agent_for(server, tool, aio=False):
    model = f"openai-compat:fake-model@{server.base_url}"
    if aio:
        from workbench import aio as waio

        return waio.Agent(waio.client(model, api_key="sk-test", retry=0), tools=[tool], name="painter")
    return Agent(wb.client(model, api_key="sk-test", retry=0), tools=[tool], name="painter")


def colour_of(path: Path) -> str:
    from PIL import Image

    return data.dominant_colour(np.asarray(Image.open(path).convert("RGB")).astype(float))


def output_of(generator) -> str:
    from workbench.tools.toolset import ToolOutput, tool_items

    return [item.value for item in tool_items(generator) if isinstance(item, ToolOutput)][0]


def script(server, prompt="a red square"):
    server.add(Reply(tool_calls=[ToolCall("generate_image", {"prompt": prompt}, id="img1")]),
               Reply(text="Here is your picture."))


def test_an_agent_streams_the_tools_previews_and_the_model_gets_only_a_path(server, ic, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script(server)
    agent = agent_for(server, wb.tools.image_tool(ic, seed=0))
    chunks = list(agent.run("Paint a red square", stream=True))
    images = [c for c in chunks if c.phase is Phase.IMAGE_PROGRESS]
    assert images and all(c.agent == "painter" for c in images)
    assert [c.content["step"] for c in images if not c.content["final"]] == list(range(1, 11))
    assert sum(c.content["preview"] is not None for c in images if not c.content["final"]) >= 3
    assert images[-1].content["final"] is True
    saved = list((tmp_path / ".workbench" / "images").glob("a-red-square-*.png"))
    assert len(saved) == 1 and colour_of(saved[0]) == "red"
    tool_message = [m for m in server.requests[1].json["messages"] if m["role"] == "tool"][0]
    assert str(Path(".workbench") / "images" / saved[0].name) in tool_message["content"]
    assert len(tool_message["content"]) < 300 and "iVBOR" not in tool_message["content"]   # no PNG bytes
    assert "".join(c.content for c in chunks if c.phase is Phase.TEXT) == "Here is your picture."
    history = agent.messages["painter"]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]


def test_two_images_of_one_prompt_never_share_a_file(server, ic, tmp_path):
    tool = wb.tools.image_tool(ic, folder=tmp_path / "out", seed=1)
    first, second = (output_of(tool("a blue circle")) for _ in range(2))
    files = sorted((tmp_path / "out").glob("*.png"))
    assert len(files) == 2 and files[0].read_bytes() == files[1].read_bytes()   # same seed, two files
    assert first != second


def test_the_aio_agent_streams_the_same_progress(server, ic, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script(server, "a yellow circle")

    async def main():
        agent = agent_for(server, wb.tools.image_tool(ic, seed=0), aio=True)
        return [c async for c in await agent.run("Paint", stream=True)]

    chunks = asyncio.run(main())
    finals = [c for c in chunks if c.phase is Phase.IMAGE_PROGRESS and c.content["final"]]
    assert len(finals) == 1 and finals[0].agent == "painter"
    saved = list((tmp_path / ".workbench" / "images").glob("*.png"))
    assert len(saved) == 1 and colour_of(saved[0]) == "yellow"


def test_a_failing_generation_goes_back_to_the_model_as_an_error(server, ic, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server.add(Reply(tool_calls=[ToolCall("generate_image", {"prompt": "a red square", "size": "60x60"}, id="x")]),
               Reply(text="Sorry."))
    agent = agent_for(server, wb.tools.image_tool(ic))
    assert agent.run("Paint") == "Sorry."
    tool_message = [m for m in server.requests[1].json["messages"] if m["role"] == "tool"][0]
    assert "divisible by 8" in tool_message["content"]
    with pytest.raises(ConfigurationError, match="steps"):
        wb.tools.image_tool(ic, steps=0)
