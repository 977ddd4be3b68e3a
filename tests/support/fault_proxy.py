#!/usr/bin/python3
"""A reverse proxy that injects faults and logs requests: in front of the test registry (TLS)
or of the ECR/STS/S3 endpoint (plain HTTP).

In front of the registry it listens on 127.0.0.1 with the registry's own certificate (SAN
IP:127.0.0.1), so a client that trusts the registry's CA trusts the proxy too; without a
certificate it listens in plain HTTP (the endpoint's case) and forwards to an http:// upstream.
Requests are forwarded with their Host header unchanged, so the registry's absolute `Location`
URLs point back at the proxy and a SigV4 signature over the proxy's host still verifies at the
endpoint. Bodies are streamed both ways in 64 KiB pieces (Content-Length or chunked), never
held whole.

A plain-HTTP control API on another 127.0.0.1 port (JSON in and out):

| request | effect |
| --- | --- |
| `GET /health` | `{ok, pid, url, control_url, faults_applied}` |
| `POST /rules` | adds a rule or a list of rules; answers `{"ids": [...]}` |
| `GET /rules` / `DELETE /rules` | lists the rules / removes them all (and lets held requests go on) |
| `GET /log` / `DELETE /log` | the request log (a JSON list) / clears it |
| `POST /holds/<id>/wait?timeout=S` | blocks until hold rule <id> holds a request: 200 `{request}`, 408 on timeout |
| `POST /holds/<id>/release` `{"action": "forward"\\|"drop"}` | lets the held request(s) go on, or drops them |

A rule (every field but `action` optional):

    {"method": "PUT|PATCH", "path": "/blobs/uploads/", "target": "digest=sha256", "count": 2,
     "action": "status" | "drop" | "hold" | "stall" | "reset_request" | "reset_response" |
               "truncate" | "malformed" | "tls_fail",
     "status": 500, "retry_after": 0, "skip": 0, "probability": 0.3, "seconds": 5, "body": "..."}

- `method`, `path` and `target` are regexes: `method` must match the whole method
  (`PUT|PATCH`), `path` (without the query) and `target` (path + query) are searched
  (`re.search`). Absent = any.
- `count`: how many matching requests get the fault (default 1; `null` = every one); `skip`:
  how many matching requests to let through first; `probability`: each matching request gets
  the fault with this probability (a generator seeded by the proxy's `seed`, so a run's
  sequence of draws is reproducible; only faulted requests use up `count`); `rate_limit`: the
  fault applies only to matching requests beyond this many per second (a token bucket with a
  burst of as many), as a service's throttling does.
- `status`: answer this status (registry-style JSON error body) without forwarding; the request
  body is read and discarded first, and the connection is closed. `retry_after` adds a
  `Retry-After` header. `drop`: read the body, close the connection with no answer. `hold`:
  stop the request before forwarding (its body unread) until released. `stall`: neither read
  the body nor answer for `seconds` (default 30), then close: a peer that went silent.
  `reset_request`: read half the body (or `bytes`), then reset the connection (RST).
  `reset_response`: forward, send the answer's headers and half its body, then reset.
  `truncate`: forward, send the headers (the full Content-Length) and half the body, then close
  cleanly. `malformed`: forward, then answer the same status and headers with `body` (default
  a few bytes that are neither JSON nor XML) instead of the upstream's body. `tls_fail`
  (a TLS proxy only; `method`/`path` ignored): the next `count` connections get plain-text bytes
  instead of a TLS handshake, then a close.

Each log entry: `id, method, path, query, target, digest (the ?digest= value or null), status
(0 = no answer), request_bytes, response_bytes, action (forward|status|drop|hold), rule, error,
done`.

As a module:
    with FaultProxy(upstream_url, ca_cert, cert, key) as proxy:
        client = FaultProxyClient(proxy.control_url)
        rule = client.add_rule({"method": "PUT", "path": "/blobs/uploads/", "action": "hold"})
        ... client.wait_held(rule, timeout=30); client.release(rule, "drop")

    with FaultProxy("http://127.0.0.1:P", seed=7) as proxy:    # plain HTTP, for the endpoint
        ...

As a CLI (stack.py starts it this way):
    /usr/bin/python3 tests/support/fault_proxy.py --upstream https://127.0.0.1:P --ca-cert CA \\
        --cert CRT --key KEY [--seed N] [--ready-file F]
"""

import argparse
import http.client
import http.server
import itertools
import json
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, List, Optional

CHUNK = 64 * 1024
UPSTREAM_TIMEOUT = 120
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "expect", "proxy-authenticate", "proxy-authorization"}
ERROR_CODES = {429: "TOOMANYREQUESTS", 500: "UNKNOWN", 502: "UNKNOWN", 503: "UNAVAILABLE"}
ACTIONS = ("status", "drop", "hold", "stall", "reset_request", "reset_response", "truncate", "malformed", "tls_fail")
MALFORMED_BODY = b"\x00<<<not json, not xml"
DEFAULT_STALL_SECONDS = 30


class RateLimiter:
    """A token bucket: `rate` requests per second, a burst of as many; allow() takes one."""

    def __init__(self, rate: float):
        if rate <= 0:
            raise ValueError("rate_limit must be > 0")
        self.rate = rate
        self.tokens = rate
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def allow(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class _Rule:
    def __init__(self, rule_id: int, spec: dict):
        self.id = rule_id
        self.spec = dict(spec)
        self.action = spec.get("action") or ("drop" if spec.get("drop") else "status")
        if self.action not in ACTIONS:
            raise ValueError("action must be one of %s, not %r" % (", ".join(ACTIONS), self.action))
        self.method = re.compile(spec["method"]) if spec.get("method") else None
        self.path = re.compile(spec["path"]) if spec.get("path") else None
        self.target = re.compile(spec["target"]) if spec.get("target") else None
        self.remaining = spec.get("count", 1)
        self.skip = int(spec.get("skip") or 0)
        self.status = int(spec.get("status") or 500)
        self.retry_after = spec.get("retry_after")
        self.probability = spec.get("probability")
        if self.probability is not None and not 0 <= float(self.probability) <= 1:
            raise ValueError("probability must be in [0, 1]")
        self.seconds = float(spec.get("seconds", DEFAULT_STALL_SECONDS))
        self.bytes = spec.get("bytes")
        self.body = spec["body"].encode() if isinstance(spec.get("body"), str) else MALFORMED_BODY
        self.limiter = RateLimiter(float(spec["rate_limit"])) if spec.get("rate_limit") is not None else None
        # hold state
        self.held = threading.Condition()
        self.held_entries: List[dict] = []
        self.release_action: Optional[str] = None

    def matches(self, method: str, path: str, target: str) -> bool:
        return ((self.method is None or self.method.fullmatch(method) is not None) and
                all(pattern is None or pattern.search(value) is not None
                    for pattern, value in ((self.path, path), (self.target, target))))

    def describe(self) -> dict:
        return dict(self.spec, id=self.id, remaining=self.remaining, skip=self.skip,
                    held=len(self.held_entries), released=self.release_action)


class ProxyState:
    """Rules and the log; every method is thread-safe."""

    def __init__(self, seed: int = 0):
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.applied = 0
        self.rules: List[_Rule] = []
        self.all_rules: Dict[int, _Rule] = {}
        self.ids = itertools.count(1)
        self.request_ids = itertools.count(1)
        self.log: List[dict] = []
        self.stopping = False

    def add_rules(self, specs) -> List[int]:
        specs = specs if isinstance(specs, list) else [specs]
        made = []
        with self.lock:
            for spec in specs:
                rule = _Rule(next(self.ids), spec)
                self.rules.append(rule)
                self.all_rules[rule.id] = rule
                made.append(rule.id)
        return made

    def clear_rules(self) -> None:
        with self.lock:
            rules, self.rules = list(self.all_rules.values()), []
        for rule in rules:
            self.release(rule.id, "forward")

    def pick(self, method: str, path: str, target: str) -> Optional[_Rule]:
        """The first request rule that matches and applies (skip, probability), one use taken."""
        return self._take(lambda rule: rule.action != "tls_fail" and rule.matches(method, path, target))

    def pick_connection(self) -> Optional[_Rule]:
        """A tls_fail rule for a new connection, one use taken."""
        return self._take(lambda rule: rule.action == "tls_fail")

    def _take(self, wanted) -> Optional[_Rule]:
        with self.lock:
            for rule in self.rules:
                if not wanted(rule):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.probability is not None and self.random.random() >= float(rule.probability):
                    continue
                if rule.limiter is not None and rule.limiter.allow():
                    continue   # within the rate: no fault
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self.rules.remove(rule)
                self.applied += 1
                return rule
        return None

    def stall(self, rule: _Rule) -> None:
        """Waits the rule's seconds, or less when the proxy stops or its rules are cleared."""
        with rule.held:
            rule.held.wait_for(lambda: rule.release_action is not None or self.stopping, timeout=rule.seconds)

    def new_entry(self, method: str, target: str) -> dict:
        parts = urllib.parse.urlsplit(target)
        digest = urllib.parse.parse_qs(parts.query).get("digest", [None])[0]
        entry = {"id": next(self.request_ids), "time": time.time(), "method": method, "path": parts.path,
                 "query": parts.query, "target": target, "digest": digest, "status": 0, "request_bytes": 0,
                 "response_bytes": 0, "action": "forward", "rule": None, "error": None, "done": False}
        with self.lock:
            self.log.append(entry)
        return entry

    def snapshot(self) -> List[dict]:
        with self.lock:
            return [dict(e) for e in self.log]

    def clear_log(self) -> None:
        with self.lock:
            self.log = []

    def wait_held(self, rule_id: int, timeout: float) -> Optional[dict]:
        rule = self.all_rules.get(rule_id)
        if rule is None:
            raise KeyError(rule_id)
        with rule.held:
            if rule.held.wait_for(lambda: rule.held_entries, timeout=timeout):
                return dict(rule.held_entries[0])
        return None

    def release(self, rule_id: int, action: str = "forward") -> None:
        rule = self.all_rules.get(rule_id)
        if rule is None:
            raise KeyError(rule_id)
        with rule.held:
            rule.release_action = action
            rule.held.notify_all()
        with self.lock:
            if rule in self.rules:
                self.rules.remove(rule)

    def hold(self, rule: _Rule, entry: dict) -> str:
        """Blocks the calling request until its rule is released; returns forward or drop."""
        with rule.held:
            rule.held_entries.append(entry)
            rule.held.notify_all()
            rule.held.wait_for(lambda: rule.release_action is not None or self.stopping)
            return rule.release_action or "drop"


class _ClientGone(Exception):
    pass


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "assetctl-fault-proxy"

    def log_message(self, fmt, *args):   # quiet: the JSON log is the record
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, socket.timeout, _ClientGone):
            self.close_connection = True

    def do_GET(self):
        self.proxy()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # Request bodies ---------------------------------------------------------------------
    def body_pieces(self, entry: dict):
        """The request body as it arrives (de-chunked when chunked)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise _ClientGone("client closed during a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass   # trailers
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(CHUNK, left))
                    if not piece:
                        raise _ClientGone("client closed during a chunked body")
                    left -= len(piece)
                    entry["request_bytes"] += len(piece)
                    yield piece
                self.rfile.readline(3)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                piece = self.rfile.read(min(CHUNK, left))
                if not piece:
                    raise _ClientGone("client closed during the body")
                left -= len(piece)
                entry["request_bytes"] += len(piece)
                yield piece

    def drain(self, entry: dict) -> None:
        for _ in self.body_pieces(entry):
            pass

    # The proxy ----------------------------------------------------------------------------
    def proxy(self):
        state: ProxyState = self.server.state
        target = self.path
        path = urllib.parse.urlsplit(target).path
        entry = state.new_entry(self.command, target)
        try:
            rule = state.pick(self.command, path, target)
            action = rule.action if rule else "forward"
            if rule:
                entry["rule"], entry["action"] = rule.id, action
            if action == "hold":
                action = state.hold(rule, entry)
            if action == "stall":
                state.stall(rule)
                entry["error"] = "stalled %.1f s" % rule.seconds
                self.reset()
            elif action == "reset_request":
                self.read_part_then_reset(rule, entry)
            elif action in ("reset_response", "truncate", "malformed"):
                self.forward(entry, rule)
            elif action == "status":
                self.drain(entry)
                self.answer_error(rule, entry)
            elif action == "drop":
                if entry["action"] != "hold":
                    self.drain(entry)
                entry["error"] = "dropped"
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            else:
                self.forward(entry)
        except _ClientGone as error:
            entry["error"] = str(error)
            self.close_connection = True
        except (ConnectionError, ssl.SSLError, socket.timeout, OSError, http.client.HTTPException) as error:
            entry["error"] = "%s: %s" % (type(error).__name__, error)
            self.close_connection = True
        finally:
            entry["done"] = True

    def reset(self) -> None:
        """Closes the connection with a TCP RST (SO_LINGER 0), no answer."""
        self.close_connection = True
        try:
            raw = self.connection
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
        except OSError:
            pass

    def read_part_then_reset(self, rule: _Rule, entry: dict) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        wanted = int(rule.bytes) if rule.bytes is not None else length // 2
        for _ in self.body_pieces(entry):
            if entry["request_bytes"] >= wanted:
                break
        entry["error"] = "reset after %d request bytes" % entry["request_bytes"]
        self.reset()

    def answer_error(self, rule: _Rule, entry: dict) -> None:
        code = ERROR_CODES.get(rule.status, "UNKNOWN")
        body = json.dumps({"errors": [{"code": code, "message": "injected by fault_proxy rule %d" % rule.id,
                                       "detail": None}]}).encode()
        self.send_response(rule.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        if rule.retry_after is not None:
            self.send_header("Retry-After", str(rule.retry_after))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            entry["response_bytes"] = len(body)
        entry["status"] = rule.status
        self.close_connection = True

    def forward(self, entry: dict, fault: Optional[_Rule] = None) -> None:
        """Forwards the request and streams the answer back; with a fault rule (reset_response,
        truncate, malformed) the answer is damaged on the way."""
        upstream = self.server.upstream
        if upstream.scheme == "https":
            conn = http.client.HTTPSConnection(upstream.hostname, upstream.port, timeout=UPSTREAM_TIMEOUT,
                                               context=self.server.upstream_context)
        else:
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=UPSTREAM_TIMEOUT)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            has_body = chunked or int(self.headers.get("Content-Length") or 0) > 0
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            if has_body:
                for piece in self.body_pieces(entry):
                    conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if chunked:
                    conn.send(b"0\r\n\r\n")
            response = conn.getresponse()
            entry["status"] = response.status
            if fault is not None:
                return self.send_damaged(response, fault, entry)
            self.send_response_only(response.status, response.reason)
            length = response.getheader("Content-Length")
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            no_body = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
            rechunk = not no_body and length is None
            if rechunk:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if no_body:
                return
            while True:
                piece = response.read(CHUNK)
                if not piece:
                    break
                entry["response_bytes"] += len(piece)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if rechunk else piece)
            if rechunk:
                self.wfile.write(b"0\r\n\r\n")
            if response.getheader("Connection", "").lower() == "close":
                self.close_connection = True
        finally:
            conn.close()


    def send_damaged(self, response: http.client.HTTPResponse, fault: _Rule, entry: dict) -> None:
        body = b"" if self.command == "HEAD" else response.read()
        entry["error"] = fault.action
        if fault.action == "malformed":
            body = fault.body
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault.action == "malformed":
            self.wfile.write(body)
            entry["response_bytes"] = len(body)
            return
        half = body[:len(body) // 2]
        self.wfile.write(half)
        self.wfile.flush()
        entry["response_bytes"] = len(half)
        if fault.action == "truncate":
            self.close_connection = True
        else:
            self.reset()


class _ProxyServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Plain HTTP, or TLS when `tls_context` is set; tls_fail rules act on new connections."""
    daemon_threads = True
    allow_reuse_address = True
    tls_context: Optional[ssl.SSLContext] = None
    state: ProxyState

    def get_request(self):
        sock, address = self.socket.accept()
        if self.tls_context is None:
            return sock, address
        rule = self.state.pick_connection()
        if rule is not None:
            # Not a TLS server hello: the client's handshake fails.
            entry = self.state.new_entry("CONNECT", "/")
            entry.update(rule=rule.id, action="tls_fail", error="tls_fail", done=True)
            try:
                sock.sendall(b"HTTP/1.1 400 this is not TLS\r\n\r\n")
            except OSError:
                pass
            sock.close()
            raise OSError("tls_fail")   # socketserver skips this connection
        # The handshake runs in the handler thread (first read), never in the accept loop.
        return self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        pass


class _ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status: int, value) -> None:
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"null") if length else None

    def route(self):
        proxy: "FaultProxy" = self.server.proxy
        state = proxy.state
        parts = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(parts.query)
        path = parts.path.rstrip("/")
        method = self.command
        try:
            if path == "/health" and method == "GET":
                return self.reply(200, {"ok": True, "pid": os.getpid(), "url": proxy.url,
                                        "control_url": proxy.control_url, "faults_applied": state.applied})
            if path == "/rules":
                if method == "POST":
                    return self.reply(200, {"ids": state.add_rules(self.body())})
                if method == "GET":
                    with state.lock:
                        return self.reply(200, {"rules": [r.describe() for r in state.rules]})
                if method == "DELETE":
                    state.clear_rules()
                    return self.reply(200, {"ok": True})
            if path == "/log":
                if method == "GET":
                    return self.reply(200, state.snapshot())
                if method == "DELETE":
                    state.clear_log()
                    return self.reply(200, {"ok": True})
            match = re.fullmatch(r"/holds/(\d+)/(wait|release)", path)
            if match and method == "POST":
                rule_id = int(match.group(1))
                if match.group(2) == "wait":
                    held = state.wait_held(rule_id, float(query.get("timeout", ["30"])[0]))
                    return self.reply(200, {"held": True, "request": held}) if held else self.reply(
                        408, {"held": False})
                action = (self.body() or {}).get("action", "forward")
                if action not in ("forward", "drop"):
                    return self.reply(400, {"error": "action must be forward or drop"})
                state.release(rule_id, action)
                return self.reply(200, {"ok": True})
            return self.reply(404, {"error": "no route %s %s" % (method, path)})
        except KeyError as error:
            return self.reply(404, {"error": "no rule %s" % error})
        except (ValueError, re.error, TypeError) as error:
            return self.reply(400, {"error": str(error)})

    do_GET = do_POST = do_DELETE = route


class _ControlServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class FaultProxy:
    """The proxy and its control API, each served by a thread of this process."""

    def __init__(self, upstream_url: str, ca_cert: Optional[str] = None, cert: Optional[str] = None,
                 key: Optional[str] = None, port: int = 0, control_port: int = 0, seed: int = 0):
        self.upstream_url = upstream_url
        self.state = ProxyState(seed)
        self.server = _ProxyServer(("127.0.0.1", port), ProxyHandler)
        if cert:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(cert, key)
            self.server.tls_context = tls
        self.server.state = self.state
        self.server.upstream = urllib.parse.urlsplit(upstream_url)
        self.server.upstream_context = ssl.create_default_context(cafile=ca_cert) if ca_cert else None
        self.control = _ControlServer(("127.0.0.1", control_port), _ControlHandler)
        self.control.proxy = self
        self.threads = []

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def host(self) -> str:
        return "127.0.0.1:%d" % self.port

    @property
    def url(self) -> str:
        return ("https://" if self.server.tls_context else "http://") + self.host

    @property
    def control_url(self) -> str:
        return "http://127.0.0.1:%d" % self.control.server_address[1]

    def start(self) -> "FaultProxy":
        for server in (self.server, self.control):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def stop(self) -> None:
        self.state.stopping = True
        for rule in list(self.state.all_rules.values()):
            with rule.held:
                rule.held.notify_all()
        for server in (self.server, self.control):
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=10)
        self.threads = []

    def describe(self) -> dict:
        return {"url": self.url, "host": self.host, "port": self.port, "control_url": self.control_url,
                "upstream": self.upstream_url, "pid": os.getpid()}

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class FaultProxyClient:
    """The control API from a test (urllib; no signatures, plain HTTP on 127.0.0.1)."""

    def __init__(self, control_url: str):
        self.base = control_url.rstrip("/")

    def _call(self, method: str, path: str, body=None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def health(self) -> dict:
        return self._call("GET", "/health")[1]

    def add_rule(self, rule: dict) -> int:
        status, answer = self._call("POST", "/rules", rule)
        if status != 200:
            raise ValueError("rule refused: %s" % answer)
        return answer["ids"][0]

    def add_rules(self, rules: list) -> List[int]:
        status, answer = self._call("POST", "/rules", rules)
        if status != 200:
            raise ValueError("rules refused: %s" % answer)
        return answer["ids"]

    def rules(self) -> list:
        return self._call("GET", "/rules")[1]["rules"]

    def clear_rules(self) -> None:
        self._call("DELETE", "/rules")

    def log(self) -> List[dict]:
        return self._call("GET", "/log")[1]

    def clear_log(self) -> None:
        self._call("DELETE", "/log")

    def wait_held(self, rule_id: int, timeout: float = 30) -> dict:
        """Blocks until the hold rule holds a request; returns its log entry. AssertionError
        after `timeout` seconds."""
        status, answer = self._call("POST", "/holds/%d/wait?timeout=%s" % (rule_id, timeout), timeout=timeout + 10)
        if status != 200:
            raise AssertionError("no request was held by rule %d within %s s: %s" % (rule_id, timeout, answer))
        return answer["request"]

    def release(self, rule_id: int, action: str = "forward") -> None:
        status, answer = self._call("POST", "/holds/%d/release" % rule_id, {"action": action})
        if status != 200:
            raise ValueError("release refused: %s" % answer)


# Log helpers (shared by the tests) ---------------------------------------------------------

BLOB_UPLOAD = re.compile(r"^/v2/(?P<repo>.+)/blobs/uploads/")
MANIFEST = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")
BLOB = re.compile(r"^/v2/(?P<repo>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")


def faulted(log: List[dict]) -> List[dict]:
    """The requests (and refused connections) a rule acted on."""
    return [e for e in log if e["rule"] is not None]


def upload_starts(log: List[dict], repo: str = None) -> List[dict]:
    """POSTs that open an upload session (or mount): .../blobs/uploads/."""
    return [e for e in log if e["method"] == "POST" and BLOB_UPLOAD.match(e["path"])
            and (repo is None or BLOB_UPLOAD.match(e["path"]).group("repo") == repo)]


def completed_uploads(log: List[dict], repo: str = None) -> List[str]:
    """Digests of blobs the registry accepted (201) from an upload: PUT ...?digest= or a
    monolithic POST ...?digest=."""
    return [e["digest"] for e in log if e["method"] in ("PUT", "POST") and e["digest"] and e["status"] == 201
            and BLOB_UPLOAD.match(e["path"]) and (repo is None or BLOB_UPLOAD.match(e["path"]).group("repo") == repo)
            and "mount=" not in e["query"]]


def body_requests(log: List[dict]) -> List[dict]:
    """Requests that carried bytes to an upload session (PUT/PATCH/POST with a body)."""
    return [e for e in log if e["method"] in ("PUT", "PATCH", "POST") and BLOB_UPLOAD.match(e["path"])
            and e["request_bytes"] > 0]


def manifest_puts(log: List[dict], repo: str = None) -> List[dict]:
    return [e for e in log if e["method"] == "PUT" and MANIFEST.match(e["path"])
            and (repo is None or MANIFEST.match(e["path"]).group("repo") == repo)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="the registry, https://127.0.0.1:P (or http://)")
    parser.add_argument("--ca-cert", help="CA the upstream's certificate is checked with (an https upstream)")
    parser.add_argument("--cert", help="the proxy's certificate (PEM); without it the proxy is plain HTTP")
    parser.add_argument("--key", help="its private key (PEM)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the generator of `probability` rules")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--ready-file", help="written atomically with describe() once listening")
    args = parser.parse_args(argv)
    proxy = FaultProxy(args.upstream, args.ca_cert, args.cert, args.key, args.port, args.control_port, args.seed)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    proxy.start()
    info = json.dumps(proxy.describe())
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(info)
        os.replace(tmp, args.ready_file)
    print(info, flush=True)
    stop.wait()
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
