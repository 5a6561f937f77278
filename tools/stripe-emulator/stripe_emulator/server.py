"""The HTTP server: ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive.

It only translates: an HTTP request becomes an ``ApiRequest`` (or a control call) and a
``Reply`` becomes bytes on the wire, or a connection closed without a byte when the reply
says ``drop`` (what a client sees when Stripe's answer is lost on the way back).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from stripe_emulator.api import ApiRequest, StripeApi
from stripe_emulator.control_routes import PREFIX, handle_control
from stripe_emulator.responses import Reply, json_reply
from stripe_emulator.state import EmulatorState

logger = logging.getLogger("stripe_emulator")

_MAX_BODY_BYTES = 1 << 20


class EmulatorHTTPServer(ThreadingHTTPServer):
    """One thread per connection; the threads never keep the process alive."""

    daemon_threads = True
    # A benchmark opens many connections at once; the default backlog of 5 would make the
    # kernel drop SYNs and stall clients for a second or more.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: EmulatorState, api: StripeApi) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.api = api
        # Open connections, so that stopping also ends idle keep-alive connections (their
        # threads would otherwise go on answering after the server "stopped").
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        self.state.count_connection()
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection (clients see them closed)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # OSError: already closed by the other side.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer
    # Headers and body go out in two writes; with Nagle's algorithm the second would wait
    # for the client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True
    server_version = "chargeq-stripe-emulator"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        # Read the whole body first, whatever the answer, so the next request on this
        # keep-alive connection starts at the right byte.
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._write(_plain_error(413, "bad or too large request body"))
            return
        url = urlsplit(self.path)
        try:
            if url.path.startswith(PREFIX):
                reply = handle_control(self.server.state, self.command, url.path, body)
            else:
                request = ApiRequest(
                    method=self.command,
                    path=url.path,
                    query=url.query,
                    body=body,
                    headers={name.lower(): value for name, value in self.headers.items()},
                )
                reply = self.server.api.handle(request)
        except Exception:
            # A bug in the emulator: say so loudly rather than pass it off as a fault.
            logger.exception("emulator error on %s %s", self.command, url.path)
            reply = _plain_error(500, "internal error in the Stripe emulator (see its log)")
        if reply.drop:
            logger.debug(
                "dropping the connection without a response: %s %s", self.command, url.path
            )
            self.close_connection = True
            return
        self._write(reply)

    def _read_body(self) -> bytes | None:
        """The request body, by Content-Length or chunked; None when too large or malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if not 0 <= length <= _MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline(64).split(b";")[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                # Skip any trailer fields, up to the blank line that ends the message.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > _MAX_BODY_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF after the chunk

    def _write(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout during a hang): nothing left to tell it.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), format % args)


def _plain_error(status: int, message: str) -> Reply:
    return json_reply({"error": {"type": "api_error", "message": message}}, status)
