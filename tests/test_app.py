"""The example app (app/server.py) behind a load balancer: what a classic load balancer's HTTP
listener forwards (X-Forwarded-Proto: http) is sent to HTTPS, but the health check."""

import http.client
import os
import shutil
import socket
import subprocess
import sys
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
