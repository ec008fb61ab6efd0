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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workbench.testing", description=__doc__.splitlines()[0])
    parser.add_argument("protocol", choices=sorted(SERVERS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--text", default="Hello from the workbench fake server.")
    parser.add_argument("--thinking", default=None, help="thinking text sent before the answer")
    parser.add_argument("--thinking-style", choices=["native", "tags"], default="native")
    parser.add_argument("--deltas", type=int, default=None, help="stream the text in N pieces (default: words)")
    args = parser.parse_args(argv)

    import workbench.testing as testing

    reply = testing.Reply(text=args.text, thinking=args.thinking, thinking_style=args.thinking_style,
                          deltas=args.deltas)
    server = getattr(testing, SERVERS[args.protocol])(default=reply, host=args.host, port=args.port).start()
    print(server.base_url, flush=True)
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
