#!/usr/bin/python3
"""Local servers for the HTTP client integration test (test_curl_client.cpp).

Starts four listeners on 127.0.0.1, each on a port the kernel picks:
  http     plain HTTP/1.1 with keep-alive (routes below)
  https    the same routes over TLS, with a self-signed certificate for IP 127.0.0.1
  proxy    an HTTP forward proxy: absolute-form requests are forwarded, CONNECT is tunnelled
  control  GET /stats: connection and request counts of the other three (not counted itself)
When listening, writes {"http": port, "https": port, "proxy": port, "control": port,
"cert": path} to the --ready file (atomically, by rename). Exits when its stdin reaches EOF, so
it never outlives the test that started it. Exit code 77: a prerequisite (openssl) is missing.

Routes of http and https:
  /echo              200, JSON: method, path, headers (in order), body (base64), connection id
  /status/<code>     that status, header X-Status, body "status <code>" where one is allowed
  /headers           response headers with repeats, an empty value and padded values
  /interim/<code>    an interim 1xx answer (with headers of its own) before the final 200
  /bytes/<n>         n bytes of a fixed binary pattern
  /stall             no answer until the client gives up and closes the connection
  /flaky/<key>       503 for the first two requests with that key, then 200

Usage: http_test_server.py --dir DIR --ready FILE
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import urllib.parse

LOCK = threading.Lock()
CONNECTIONS = {"http": 0, "https": 0, "proxy": 0}
REQUESTS = {"http": 0, "https": 0, "proxy": 0}
PROXIED = []  # request lines the proxy saw: "CONNECT host:port" or "GET http://..."
FLAKY = {}  # key -> requests so far
NEXT_CONNECTION_ID = [0]

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "transfer-encoding", "te", "trailer", "upgrade"}


def pattern(size):
    return bytes((i * 131 + i // 977) & 0xFF for i in range(size))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, name, handler, tls_context=None):
        super().__init__(("127.0.0.1", 0), handler)
        self.name = name
        self.tls_context = tls_context

    def handle_error(self, request, client_address):
        # Clients that give up (timeouts, TLS verification failures) are part of the tests.
        if not isinstance(sys.exc_info()[1], (OSError, ssl.SSLError)):
            super().handle_error(request, client_address)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        if self.server.tls_context is not None:
            self.request = self.server.tls_context.wrap_socket(self.request, server_side=True)
        super().setup()
        with LOCK:
            NEXT_CONNECTION_ID[0] += 1
            self.connection_id = NEXT_CONNECTION_ID[0]
            if self.server.name in CONNECTIONS:
                CONNECTIONS[self.server.name] += 1

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def answer(self, status, body=b"", headers=(), content_type="text/plain"):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status >= 200 and status not in (204, 304):
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status >= 200 and status not in (204, 304):
            self.wfile.write(body)

    def route(self):
        body = self.read_body()
        with LOCK:
            if self.server.name in REQUESTS:
                REQUESTS[self.server.name] += 1
        path = urllib.parse.urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if self.server.name == "control":
            with LOCK:
                stats = {"connections": dict(CONNECTIONS), "requests": dict(REQUESTS),
                         "proxied": list(PROXIED), "flaky": dict(FLAKY)}
            self.answer(200, json.dumps(stats).encode(), content_type="application/json")
        elif parts[0] == "echo":
            echo = {"method": self.command, "path": self.path,
                    "headers": [[name, value] for name, value in self.headers.items()],
                    "body": base64.b64encode(body).decode(), "connection": self.connection_id,
                    "listener": self.server.name}
            self.answer(200, json.dumps(echo).encode(), content_type="application/json")
        elif parts[0] == "status" and len(parts) == 2:
            code = int(parts[1])
            headers = [("X-Status", str(code))]
            if code in (301, 302, 303, 307, 308):
                headers.append(("Location", "/echo"))
            self.answer(code, f"status {code}".encode(), headers)
        elif parts[0] == "headers":
            self.answer(200, b"headers", [("X-Multi", "one"), ("X-Multi", "two"),
                                          ("X-Empty", ""), ("X-Padded", "  padded value  ")])
        elif parts[0] == "interim" and len(parts) == 2:
            self.wfile.write(f"HTTP/1.1 {int(parts[1])} Interim\r\nX-Interim: yes\r\n"
                             "Link: </style.css>; rel=preload\r\n\r\n".encode())
            self.answer(200, b"final", [("X-Final", "yes")])
        elif parts[0] == "bytes" and len(parts) == 2:
            self.answer(200, pattern(int(parts[1])), content_type="application/octet-stream")
        elif parts[0] == "stall":
            # Wait for the client to close (readable at EOF) rather than a fixed time.
            select.select([self.connection], [], [], 60)
            self.close_connection = True
        elif parts[0] == "flaky" and len(parts) == 2:
            with LOCK:
                FLAKY[parts[1]] = FLAKY.get(parts[1], 0) + 1
                count = FLAKY[parts[1]]
            if count <= 2:
                self.answer(503, b"busy, try again")
            else:
                self.answer(200, f"ok after {count}".encode())
        else:
            self.answer(404, b"no such route")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = route


class ProxyHandler(Handler):
    def forward(self):
        body = self.read_body()
        with LOCK:
            REQUESTS["proxy"] += 1
            PROXIED.append(f"{self.command} {self.path}")
        url = urllib.parse.urlsplit(self.path)
        if url.scheme != "http" or url.hostname != "127.0.0.1":
            self.answer(502, b"this proxy only forwards to http://127.0.0.1")
            return
        upstream = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in HOP_BY_HOP}
        target = url.path + (f"?{url.query}" if url.query else "")
        upstream.request(self.command, target, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_CONNECT(self):
        with LOCK:
            REQUESTS["proxy"] += 1
            PROXIED.append(f"CONNECT {self.path}")
        host, _, port = self.path.rpartition(":")
        if host != "127.0.0.1":
            self.answer(502, b"this proxy only tunnels to 127.0.0.1")
            return
        upstream = socket.create_connection((host, int(port)), timeout=30)
        self.send_response(200, "Connection established")
        self.send_header("X-Proxy", "tunnel")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 60)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = forward


def make_certificate(folder):
    openssl = shutil.which("openssl")
    if openssl is None:
        print("http_test_server: openssl is not installed", file=sys.stderr)
        sys.exit(77)
    cert = os.path.join(folder, "cert.pem")
    key = os.path.join(folder, "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--ready", required=True)
    args = parser.parse_args()

    cert, key = make_certificate(args.dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    servers = {"http": Server("http", Handler), "https": Server("https", Handler, context),
               "proxy": Server("proxy", ProxyHandler), "control": Server("control", Handler)}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()

    ready = {name: server.server_address[1] for name, server in servers.items()}
    ready["cert"] = cert
    with open(args.ready + ".tmp", "w", encoding="utf-8") as out:
        json.dump(ready, out)
    os.replace(args.ready + ".tmp", args.ready)

    # Runs until the test closes our stdin (or dies, which closes it too).
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
