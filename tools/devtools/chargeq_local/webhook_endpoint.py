"""The webhook function behind its function URL, on 127.0.0.1: a small HTTP server.

Run as ``python -m chargeq_local.webhook_endpoint`` with the function's environment
(``LEDGER_TABLE_NAME``, ``WEBHOOK_SECRET_NAME``, ``WEBHOOK_TOLERANCE_SECONDS``,
``AWS_ENDPOINT_URL`` naming moto), as Lambda starts a container: it prints one JSON line,
``{"url": "http://127.0.0.1:PORT/"}``, then serves until SIGTERM. Each request becomes one
invocation of ``webhooks.handler:lambda_handler`` (which hands it to ``handle_request``)
with the event a function URL sends, payload format 2.0
(docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html, "Request payload format"):
``headers`` with lower-case names (repeated ones joined by commas), ``rawPath``,
``rawQueryString``, ``requestContext.http``, and the body as sent, base64-encoded with
``isBase64Encoded`` when it is not UTF-8 text. The function's answer (``statusCode``,
``headers``, ``body``) is the HTTP response ("Response payload format"); a function that
raises answers 502, as a function URL does.

One request at a time: one warm container (Stripe sends a webhook endpoint's events one
after another; concurrent requests wait in the listen backlog). The handler's JSON logs and
metrics go to stderr, the log file the parent gives it; stdout carries only the URL line.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from chargeq_local.context import LocalLambdaContext

#: The function behind the URL (``module:function``).
HANDLER = "webhooks.handler:lambda_handler"
#: The function's timeout locally, seconds (its answer is one conditional write).
TIMEOUT_SECONDS = 10.0
#: The largest body accepted; a function URL's request payload limit is 6 MB.
MAX_BODY_BYTES = 6 * 1024 * 1024


def function_url_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The payload-2.0 event a function URL builds for one HTTP request."""
    parts = urlsplit(target)
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": merged.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def _load_handler() -> Any:
    import importlib

    module_name, _, name = HANDLER.partition(":")
    return getattr(importlib.import_module(module_name), name)


class _FunctionUrl(BaseHTTPRequestHandler):
    handler: Any = None

    def do_POST(self) -> None:
        self._invoke()

    def do_GET(self) -> None:
        self._invoke()

    def _invoke(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._respond(413, {}, b'{"message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(length) if length else b""
        event = function_url_event(
            self.command, self.path, list(self.headers.items()), body, self.client_address[0]
        )
        context = LocalLambdaContext(
            function_name="chargeq-local-stripe-webhooks", timeout_seconds=TIMEOUT_SECONDS
        )
        try:
            answer = type(self).handler(event, context)
        except Exception:  # the function failed: a function URL answers 502
            self._respond(502, {}, b'{"message":"Internal Server Error"}')
            return
        payload = str(answer.get("body") or "")
        data = (
            base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode("utf-8")
        )
        self._respond(int(answer.get("statusCode", 200)), answer.get("headers") or {}, data)

    def _respond(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(
            json.dumps({"message": "function URL request", "line": format % args}) + "\n"
        )


def main() -> int:
    """Serve on a free port of 127.0.0.1 until killed."""
    _FunctionUrl.handler = staticmethod(_load_handler())
    server = HTTPServer(("127.0.0.1", 0), _FunctionUrl)
    port = server.server_address[1]
    print(json.dumps({"url": f"http://127.0.0.1:{port}/"}), flush=True)
    os.dup2(2, 1)  # from now on the handler's stdout (logs, EMF) goes to the log file
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
