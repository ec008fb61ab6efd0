"""FakeServer: a scripted HTTP server on 127.0.0.1 for one wire protocol (stdlib only).

Runs in a daemon thread (``start()``/``stop()`` or ``with``), on a free port, HTTP/1.1
with keep-alive so the SDKs reuse their connection as they would with a real API.
Streams use chunked transfer encoding, so a dropped stream is a real protocol error on
the client side, and TCP_NODELAY, so small events are not held back by Nagle.
Subclasses say how a Reply looks on their wire (JSON body, stream frames, error body).
"""

from __future__ import annotations

import collections
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Any, Iterable

from workbench.testing.script import NO_REPLY, Reply


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]        # names lower-cased
    body: Any

    @property
    def json(self) -> Any:
        return self.body


class Frame(bytes):
    """One stream event; ``content`` frames count towards a Reply's ``drop_after``."""

    content: bool = False


def frame(data: bytes, content: bool = False) -> Frame:
    f = Frame(data)
    f.content = content
    return f


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    fake: "FakeServer"

    def log_message(self, *args: Any) -> None:  # quiet: tests read .requests instead
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():   # as a real server reads it
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):   # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, method: str) -> None:
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        path = self.path.split("?", 1)[0]
        self.fake._record(RecordedRequest(method, path, {k.lower(): v for k, v in self.headers.items()}, body))
        try:
            self.fake.handle(self, method, path, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- writers used by the protocol subclasses ---------------------------------------------
    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_stream(self, content_type: str, frames: Iterable[Frame], reply: Reply,
                    error_frame: Frame | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        sent_content = 0
        for f in frames:
            if reply.drop_after is not None and f.content and sent_content >= reply.drop_after:
                self._drop()
                return
            if reply.error_after is not None and f.content and sent_content >= reply.error_after:
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(error_frame), error_frame))
                return
            if reply.chunk_delay:
                time.sleep(reply.chunk_delay)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(f), f))
            sent_content += f.content
            if reply.after is not None and f.content and sent_content == reply.after[0]:
                self.wfile.flush()
                reply.after[1]()       # e.g. _thread.interrupt_main: an interrupt at a known point
        if reply.drop_after is not None:
            self._drop()
            return
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self) -> None:
        # Cut the connection mid-body: the client sees an incomplete chunked message.
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128   # many clients connect at once (Parallel of 16 agents); the default 5 refuses some

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (the point of several tests) is not a server failure.
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeServer:
    """Base of the protocol fakes: a queue of Replies, a default, a log of requests."""

    url_suffix = ""

    def __init__(self, replies: Iterable[Reply] = (), *, default: Reply | None = None,
                 host: str = "127.0.0.1", port: int = 0, responder: "Callable[[Any], Reply | None] | None" = None):
        self.default = default
        self._endpoint_replies: dict[str, collections.deque[Reply]] = {}
        self.responder = responder      # request body -> Reply, when nothing is queued (a model whose answer
                                        # depends on the prompt); None falls through to the default
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._queue: collections.deque[Reply] = collections.deque(replies)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "FakeServer":
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _QuietServer((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.url_suffix}"

    def __repr__(self) -> str:
        state = f"at {self.base_url}" if self._server else "stopped"
        return f"<{type(self).__name__} {state} queued={len(self._queue)} requests={len(self.requests)}>"

    # -- script -----------------------------------------------------------------------------------
    embedding_dim = 32          # the length of the fake embeddings (the request's "dimensions" wins)

    def queue_for(self, endpoint: str, *replies: Reply) -> None:
        """Script the next requests of another endpoint than chat ("embeddings", "images"):
        an error Reply (``Reply(status=429, retry_after=0)``) fails one request; any other
        Reply serves a normal answer with its ``delay`` / ``drop_after``. Those endpoints
        never consume the chat replies."""
        with self._lock:
            self._endpoint_replies.setdefault(endpoint, collections.deque()).extend(replies)

    def next_for(self, endpoint: str) -> Reply | None:
        with self._lock:
            queued = self._endpoint_replies.get(endpoint)
            return queued.popleft() if queued else None

    def add(self, *replies: Reply) -> None:
        """Queue replies, answered in order (then the default). Returns None, so a notebook
        cell ending in ``server.add(...)`` prints nothing."""
        with self._lock:
            self._queue.extend(replies)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    @property
    def pending(self) -> int:
        return len(self._queue)

    @property
    def last_request(self) -> RecordedRequest | None:
        chats = [r for r in self.requests if r.method == "POST"]
        return chats[-1] if chats else None

    def next_reply(self, body: Any = None) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            reply = self.responder(body)
            if reply is not None:
                return reply
        return self.default or NO_REPLY

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # -- protocol hooks ---------------------------------------------------------------------------
    def handle(self, h: _Handler, method: str, path: str, body: Any) -> None:
        raise NotImplementedError

    def serve_reply(self, h: _Handler, reply: Reply, body: Any, stream: bool) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.is_error:
            headers = {"Retry-After": f"{reply.retry_after:g}"} if reply.retry_after is not None else {}
            h.send_json(reply.status, self.error_body(reply), headers)
        elif stream:
            h.send_stream(self.stream_content_type, self.stream_frames(reply, body), reply,
                          self.stream_error_frame(reply))
        else:
            h.send_json(200, self.response_body(reply, body))
            if reply.after is not None:      # a whole answer: the hook runs once it is sent
                h.wfile.flush()
                reply.after[1]()

    stream_content_type = "text/event-stream"

    def error_body(self, reply: Reply) -> Any:
        raise NotImplementedError

    def response_body(self, reply: Reply, body: Any) -> Any:
        raise NotImplementedError

    def stream_error_frame(self, reply: Reply) -> Frame:
        """The protocol's error event inside a 200 stream (for ``Reply.error_after``)."""
        raise NotImplementedError

    def stream_frames(self, reply: Reply, body: Any) -> Iterable[Frame]:
        raise NotImplementedError

    def not_found(self, h: _Handler, path: str) -> None:
        h.send_json(404, {"error": {"message": f"fake server: no route {path}", "type": "not_found"}})
