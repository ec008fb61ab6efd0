"""Run a fake server in its own process: ``python -m workbench.testing openai --text "Hi!"``.

Every request gets the same scripted reply. Useful to point a notebook, another process,
or a benchmark (no GIL shared with the client) at a server that needs no network or key.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

SERVERS = {"openai": "FakeOpenAIServer", "anthropic": "FakeAnthropicServer", "ollama": "FakeOllamaServer"}


def usage_line(protocol: str, base_url: str) -> str:
    """How to point the workbench (and the provider's SDK) at the server just started."""
    if protocol == "openai":
        return f'Use it with: wb.client("openai-compat:any-model@{base_url}")'
    if protocol == "anthropic":
        return (f"Use it with: export ANTHROPIC_BASE_URL={base_url} ANTHROPIC_API_KEY=fake, "
                'then wb.client("anthropic:claude-sonnet-4-6")')
    return f'Use it with: export OLLAMA_HOST={base_url}, then wb.client("ollama:qwen3:8b")'


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workbench.testing", description=__doc__.splitlines()[0])
    parser.add_argument("protocol", choices=sorted(SERVERS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--text", default="Hello from the workbench fake server.")
    parser.add_argument("--thinking", default=None, help="thinking text sent before the answer")
    parser.add_argument("--thinking-style", choices=["native", "tags"], default="native")
    parser.add_argument("--deltas", type=int, default=None, help="stream the text in N pieces (default: words)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering each request")
    args = parser.parse_args(argv)

    import workbench.testing as testing

    reply = testing.Reply(text=args.text, thinking=args.thinking, thinking_style=args.thinking_style,
                          deltas=args.deltas, delay=args.delay)
    server = getattr(testing, SERVERS[args.protocol])(default=reply, host=args.host, port=args.port).start()
    print(server.base_url, flush=True)            # first line: the URL alone, for scripts
    print(usage_line(args.protocol, server.base_url) + "  (Ctrl-C stops it)", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
