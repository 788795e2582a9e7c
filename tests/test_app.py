"""The example app (app/server.py) behind a load balancer: what a classic load balancer's HTTP
listener forwards (X-Forwarded-Proto: http) is sent to HTTPS, but the health check."""

import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app for staging, served from a copy of app/ (unbuilt: its plain page) and deploy/env/, so
    that a build left in the checkout (app/dist, of another environment) changes nothing here."""
    install = tmp_path_factory.mktemp("app")
    shutil.copytree(ROOT / "app", install / "app", ignore=shutil.ignore_patterns("dist", "__pycache__"))
    shutil.copytree(ROOT / "deploy/env", install / "deploy/env")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "app/server.py"], cwd=install, stdout=subprocess.PIPE,
                              env={**os.environ, "NODE_ENV": "staging", "PORT": str(port)})
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


def get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers={"Host": "dev01.example.com", **headers})
    return connection.getresponse()


def test_plain_http_through_the_load_balancer_is_sent_to_https(app):
    answer = get(app, "/index.html?a=1", **{"X-Forwarded-Proto": "http"})
    assert answer.status == 301
    assert answer.getheader("Location") == "https://dev01.example.com/index.html?a=1"


@pytest.mark.parametrize("path, headers", [
    ("/api/status/health", {"X-Forwarded-Proto": "http"}),  # the health check is never redirected
    ("/", {"X-Forwarded-Proto": "https"}),
    ("/", {}),  # straight to the instance
])
def test_health_https_and_direct_requests_are_served(app, path, headers):
    assert get(app, path, **headers).status == 200


def test_a_redirect_goes_to_no_host_but_a_plain_name(app):
    assert get(app, "/", **{"X-Forwarded-Proto": "http", "Host": "evil.example/x@y"}).status == 400


class Metadata(http.server.BaseHTTPRequestHandler):
    """The instance metadata service as an instance launched with IMDSv2 required sees it: the user
    data only with a session token from a PUT."""
    token, user_data = "a-session-token", b""

    def do_PUT(self):
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        self.answer(200 if self.path == "/latest/api/token" and ttl else 400, self.token.encode())

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != self.token:
            self.answer(401, b"")  # IMDSv1 is refused
        else:
            self.answer(200 if self.path == "/latest/user-data" else 404, self.user_data)

    def answer(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(install, env: dict) -> tuple[subprocess.Popen, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "app/server.py"], cwd=install, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**env, "PORT": str(port)})
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.05)
    return server, port


def test_on_an_instance_the_app_reads_its_environment_and_config_from_the_user_data_over_imdsv2(tmp_path):
    """As the launch template gives them (launch-asg): one image, any environment, its config at boot."""
    install = tmp_path / "install"  # as in the image: the app and its build, no deploy/env/
    shutil.copytree(ROOT / "app", install / "app", ignore=shutil.ignore_patterns("dist", "__pycache__"))
    Metadata.user_data = json.dumps({"NODE_ENV": "production", "config": {"port": 80, "greeting": "Hi there"}}).encode()
    metadata = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metadata)
    threading.Thread(target=metadata.serve_forever, daemon=True).start()
    env = {key: value for key, value in os.environ.items() if key != "NODE_ENV"}
    try:
        server, port = serve(install, {**env, "IMDS_ENDPOINT": f"http://127.0.0.1:{metadata.server_port}"})
        page = get(port, "/").read().decode()
        server.terminate()
        server.wait(timeout=10)
        assert "Hi there" in page and "<b>production</b>" in page
        Metadata.user_data = b"not json"
        broken, _ = serve(install, {**env, "IMDS_ENDPOINT": f"http://127.0.0.1:{metadata.server_port}"})
        assert broken.wait(timeout=10) == 1 and "the user data is not" in broken.stderr.read()
    finally:
        metadata.shutdown()
