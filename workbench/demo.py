"""``python -m workbench.demo``: the main job, offline.

By default it builds the built-in model ``workbench-tiny`` (once, into the user cache),
chats with it, then executes the tour notebooks on a real kernel and writes the executed
notebooks and their HTML into ``tour-output/`` (or the folder given as the argument).
``--fake-servers`` runs only the short demo against the fake OpenAI and Anthropic servers.
No network, no API key, no downloaded weights.
"""

from __future__ import annotations

import sys


def fake_server_demo(out=None) -> None:
    import workbench as wb
    from workbench.testing import FakeAnthropicServer, FakeOpenAIServer, Reply, ToolCall

    out = out or sys.stdout

    def say(*parts: str, end: str = "\n") -> None:
        print(*parts, end=end, file=out, flush=True)

    @wb.tool
    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    with FakeOpenAIServer() as openai_server, FakeAnthropicServer() as anthropic_server:
        say("== a chat (OpenAI protocol, fake server at", openai_server.base_url + ")")
        openai_server.add(Reply(text="Seven."), Reply(text="Eleven, the next prime after seven."))
        c = wb.client("openai:gpt-4.1", system="You are terse.", api_key="demo-key",
                      base_url=openai_server.base_url)
        for prompt in ("Name a prime.", "And the next one?"):
            say(f"user: {prompt}\nassistant: {c.chat(prompt)}")
        say(f"({len(c.messages)} messages in history, usage of the last turn: {c.last_usage})\n")

        say("== a streamed turn with thinking (Anthropic protocol)")
        anthropic_server.add(Reply(thinking="The user wants 17 times 3. 17*3 = 51.", text="17 x 3 = 51."))
        claude = wb.client("anthropic:claude-sonnet-4-6", api_key="demo-key", base_url=anthropic_server.base_url,
                           thinking=True)
        phase = None
        for chunk in claude.chat("What is 17 x 3?", stream=True, include=["thinking", "text"]):
            if chunk.phase is not phase:
                phase = chunk.phase
                say(f"\n[{phase}] ", end="")
            say(chunk.content, end="")
        say(f"\n(last_thinking kept apart from the answer: {claude.last_thinking!r})\n")

        say("== a tool call (the model asks, the client runs the tool, the model answers)")
        openai_server.add(Reply(tool_calls=[ToolCall("multiply", {"a": 6, "b": 7})]), Reply(text="6 x 7 = 42."))
        agentic = wb.client("openai:gpt-4.1", api_key="demo-key", base_url=openai_server.base_url, tools=[multiply])
        for chunk in agentic.chat("What is 6 x 7?", stream=True, include=["tool_call", "tool_result", "text"]):
            if chunk.is_tool_call():
                say(f"tool call  : {chunk.content['name']}({chunk.content['arguments']})")
            elif chunk.is_tool_result():
                say(f"tool result: {chunk.content['content']}")
            else:
                say(chunk.content, end="")
        say("\n")
        say("Done: every reply above came from workbench.testing fake servers, through the real SDKs.")


def tiny_model_demo(out=None) -> None:
    import time

    import workbench as wb
    from workbench.builtin.tiny import ensure_tiny

    out = out or sys.stdout
    started = time.perf_counter()
    paths = ensure_tiny()
    print(f"== workbench-tiny ready in {time.perf_counter() - started:.1f} s: {paths.hf_dir}", file=out)
    c = wb.client("hf:workbench-tiny")
    answer = c.chat("What is 17+25?")
    print(f"user: What is 17+25?\nthinking: {c.last_thinking}\nassistant: {answer}\n", file=out, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--fake-servers" in args:
        fake_server_demo()
        return
    from workbench.notebook.tour import run_tour

    tiny_model_demo()
    written = run_tour(args[0] if args else "tour-output")
    print(f"The tour ran offline: {len(written)} files written.")


if __name__ == "__main__":
    main()
