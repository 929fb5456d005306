"""A scripted API on loopback (the standard library's HTTP server in a thread): each test queues the answers,
the server records every request it got. Real sockets, so the client's own HTTP code runs."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering (a network error)


class FakeAPI:
    def __init__(self):
        self.answers: list[Answer] = []
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with api.lock:
                    api.requests.append(
                        Recorded(
                            self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                        )
                    )
                    answer = api.answers.pop(0) if api.answers else Answer(500, {"error": "NoAnswerQueued"})
                if answer.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                raw = (
                    b""
                    if answer.body is None
                    else (answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode())
                )
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.send_header("X-Request-Id", f"req_{len(api.requests)}")
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api"

    def queue(self, *answers: Answer | tuple) -> None:
        for answer in answers:
            self.answers.append(answer if isinstance(answer, Answer) else Answer(*answer))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
