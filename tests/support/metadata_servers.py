"""In-process ECS container-credentials and EC2 IMDSv2 servers on 127.0.0.1 for tests.

Both serve one fixed set of credentials (give them session credentials minted by the local
STS endpoint so the ECR endpoint accepts them) and count the requests they answered.
"""
import http.server
import json
import secrets
import threading


class _Server:
    def __init__(self, handler_factory):
        self.requests = []
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_factory(self))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _credentials_json(credentials: dict, expiration: str) -> dict:
    return {"AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "Token": credentials["SessionToken"], "Expiration": expiration}


class EcsCredentialsServer(_Server):
    """GET <path> with `Authorization: <token>` -> the credentials JSON."""

    def __init__(self, credentials: dict, expiration: str, token: str, path: str = "/creds"):
        self.path = path
        self.token = token

        def factory(server):
            class Handler(http.server.BaseHTTPRequestHandler):
                def log_message(self, *args):
                    pass

                def do_GET(self):
                    server.requests.append(("GET", self.path, self.headers.get("Authorization")))
                    if self.path != server.path:
                        return self._send(404, {"message": "not found"})
                    if self.headers.get("Authorization") != server.token:
                        return self._send(401, {"message": "bad authorization token"})
                    return self._send(200, _credentials_json(credentials, expiration))

                def _send(self, status, body):
                    data = json.dumps(body).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            return Handler

        super().__init__(factory)


class ImdsServer(_Server):
    """IMDSv2: PUT /latest/api/token, then GETs with X-aws-ec2-metadata-token."""

    ROLE = "assetctl-instance-role"

    def __init__(self, credentials: dict, expiration: str):
        self.session_token = secrets.token_hex(16)

        def factory(server):
            class Handler(http.server.BaseHTTPRequestHandler):
                def log_message(self, *args):
                    pass

                def do_PUT(self):
                    server.requests.append(("PUT", self.path))
                    if self.path != "/latest/api/token" or not self.headers.get(
                            "X-aws-ec2-metadata-token-ttl-seconds"):
                        return self._send(400, "")
                    return self._send(200, server.session_token)

                def do_GET(self):
                    server.requests.append(("GET", self.path))
                    if self.headers.get("X-aws-ec2-metadata-token") != server.session_token:
                        return self._send(401, "")
                    base = "/latest/meta-data/iam/security-credentials/"
                    if self.path == base:
                        return self._send(200, ImdsServer.ROLE)
                    if self.path == base + ImdsServer.ROLE:
                        body = dict(_credentials_json(credentials, expiration), Code="Success",
                                    Type="AWS-HMAC")
                        return self._send(200, json.dumps(body))
                    return self._send(404, "")

                def _send(self, status, text):
                    data = text.encode()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            return Handler

        super().__init__(factory)
